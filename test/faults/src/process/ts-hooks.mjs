/* global URL, process */
// Node module hooks for the fault battery's child processes: Node 20 cannot run TypeScript, so
// `.ts` files are transpiled on load (TypeScript's transpileModule, with the repository's
// decorator settings), and `./x.js` imports resolve to `./x.ts` when only the source exists.
// Transpiled output is cached on disk by a hash of the source, so a child process after the first
// neither loads the TypeScript compiler nor transpiles anything (seconds per process otherwise).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const cacheDir = fileURLToPath(new URL('../../../../node_modules/.cache/cloudbus-faults-ts/', import.meta.url));
let typescript;

const compilerOptions = {
  module: 'esnext',
  target: 'es2023',
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
  verbatimModuleSyntax: false,
  sourceMap: false,
  inlineSourceMap: true,
};

export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    if (specifier.endsWith('.js') && (specifier.startsWith('.') || specifier.startsWith('/')) && context.parentURL !== undefined) {
      const candidate = new URL(specifier.slice(0, -3) + '.ts', context.parentURL);
      if (existsSync(fileURLToPath(candidate))) return { url: candidate.href, shortCircuit: true };
    }
    throw error;
  }
}

export async function load(url, context, nextLoad) {
  if (!url.endsWith('.ts') || !url.startsWith('file:')) return nextLoad(url, context);
  const fileName = fileURLToPath(url);
  const source = await readFile(fileName, 'utf8');
  const key = createHash('sha256').update(fileName).update('\0').update(JSON.stringify(compilerOptions)).update('\0').update(source).digest('hex');
  const cached = `${cacheDir}${key}.mjs`;
  try {
    return { format: 'module', source: await readFile(cached, 'utf8'), shortCircuit: true };
  } catch {
    // not transpiled yet
  }
  typescript ??= (await import('typescript')).default;
  const options = typescript.convertCompilerOptionsFromJson(compilerOptions, '.').options;
  const { outputText } = typescript.transpileModule(source, { compilerOptions: options, fileName });
  // Written aside then renamed: processes starting at once never read half a file.
  await mkdir(cacheDir, { recursive: true });
  const partial = `${cached}.${process.pid}.tmp`;
  await writeFile(partial, outputText);
  await rename(partial, cached);
  return { format: 'module', source: outputText, shortCircuit: true };
}

import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** One ```ts block of a README, with the hidden `<!-- snippet-prelude ... -->` just before it, if any. */
interface Snippet {
  readonly readme: string;
  readonly line: number;
  readonly prelude: string;
  readonly code: string;
}

/** Every README of the workspace: the root's and each package's and app's. */
function readmes(): string[] {
  const found = [join(root, 'README.md')];
  for (const group of ['packages', 'apps', 'bench', 'test']) {
    const dir = join(root, group);
    if (existsSync(join(dir, 'README.md'))) found.push(join(dir, 'README.md'));
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory() && existsSync(join(dir, entry.name, 'README.md'))) found.push(join(dir, entry.name, 'README.md'));
    }
  }
  return found;
}

function snippetsOf(readme: string): Snippet[] {
  const lines = readFileSync(readme, 'utf8').split('\n');
  const snippets: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i]!)) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !lines[end]!.startsWith('```')) end++;
    let prelude = '';
    if (lines[i - 1]?.trim() === '-->') {
      let open = i - 1;
      while (open > 0 && !lines[open]!.startsWith('<!-- snippet-prelude')) open--;
      prelude = lines.slice(open + 1, i - 1).join('\n');
    }
    snippets.push({ readme, line: start + 1, prelude, code: lines.slice(start, end).join('\n') });
    i = end;
  }
  return snippets;
}

/**
 * Blocks compile against the built packages (`pnpm test` builds first). Apps' READMEs compile in their own package (they import the app by name); every other README in
 * the test package, which depends on core and every transport.
 */
function homeOf(readme: string): string {
  const path = relative(root, readme);
  return path.startsWith('apps/') ? join(root, path.split('/').slice(0, 2).join('/')) : join(root, 'test');
}

describe('README code blocks', () => {
  it('every TypeScript block type-checks (with its hidden prelude)', async () => {
    const byHome = new Map<string, Snippet[]>();
    for (const readme of readmes()) {
      for (const snippet of snippetsOf(readme)) {
        const home = homeOf(readme);
        byHome.set(home, [...(byHome.get(home) ?? []), snippet]);
      }
    }
    expect([...byHome.values()].flat().length).toBeGreaterThanOrEqual(10);
    const failures: string[] = [];
    for (const [home, snippets] of byHome) {
      const dir = join(home, '.readme-snippets');
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir);
      try {
        const files = new Map<string, Snippet>();
        snippets.forEach((snippet, index) => {
          const file = `snippet-${index}.ts`;
          files.set(file, snippet);
          // Line 1 keeps the README's line numbers apart from the prelude's in tsc's output.
          writeFileSync(join(dir, file), `${snippet.prelude}\n// ---- ${relative(root, snippet.readme)}:${snippet.line}\n${snippet.code}\nexport {};\n`);
        });
        writeFileSync(
          join(dir, 'tsconfig.json'),
          JSON.stringify({
            extends: relative(dir, join(root, 'tsconfig.base.json')),
            compilerOptions: { composite: false, incremental: false, declaration: false, declarationMap: false, noEmit: true },
            include: ['*.ts'],
          }),
        );
        const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
        const result = await promisify(execFile)(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { cwd: dir }).catch(
          (error: { stdout?: string }) => ({ stdout: error.stdout ?? String(error) }),
        );
        for (const line of result.stdout.split('\n').filter((l) => l.includes('error TS'))) {
          const match = /^(snippet-\d+\.ts)\((\d+),/.exec(line);
          const snippet = match === null ? undefined : files.get(match[1]!);
          const offset = snippet === undefined ? 0 : snippet.prelude.split('\n').length + 1;
          failures.push(snippet === undefined ? line : `${relative(root, snippet.readme)}:${snippet.line + Number(match![2]) - offset - 1}: ${line.replace(/^[^:]*: /, '')}`);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);
});

import { readFile } from 'node:fs/promises';

import type { FastifyInstance } from 'fastify';

/** The page's files: the URL path -> where it is (relative to this module, in src/ and dist/ alike) and its type. */
const ASSETS: Readonly<Record<string, { readonly file: URL; readonly type: string }>> = {
  '/': { file: new URL('../../web/index.html', import.meta.url), type: 'text/html; charset=utf-8' },
  '/assets/style.css': { file: new URL('../../web/style.css', import.meta.url), type: 'text/css; charset=utf-8' },
  '/assets/app.js': { file: new URL('../../dist/web/app.js', import.meta.url), type: 'text/javascript; charset=utf-8' },
};

/** The page's Content-Security-Policy: its own scripts, styles and API only. */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/**
 * Serves the web page (customer, kitchen display, manager) at `/`: a fixed set of files, read
 * once and kept. The script is built by `pnpm build` (web/tsconfig.json -> dist/web/); a 503 says
 * so when it was not.
 */
export function servePage(app: FastifyInstance): void {
  const cache = new Map<string, Buffer>();
  for (const [path, asset] of Object.entries(ASSETS)) {
    app.get(path, async (_request, reply) => {
      let body = cache.get(path);
      if (body === undefined) {
        try {
          body = await readFile(asset.file);
        } catch {
          return reply.code(503).send({ error: 'PageNotBuilt', message: `${path} is missing: run pnpm build.` });
        }
        cache.set(path, body);
      }
      return reply
        .header('content-type', asset.type)
        .header('cache-control', 'no-cache')
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', CSP)
        .send(body);
    });
  }
}

import { extname, join, normalize, resolve, sep } from 'node:path';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.ico': 'image/x-icon',
};

/** The Content-Type of a file of the built renderer, by its extension. */
export function contentTypeOf(file: string): string {
  return TYPES[extname(file)] ?? 'application/octet-stream';
}

/**
 * The file under `root` that the (already percent-decoded) URL path names, `/` being index.html;
 * undefined when the path would leave `root` or holds a NUL. Shared by web mode and the desktop
 * app's `app://` protocol.
 */
export function fileUnder(root: string, path: string): string | undefined {
  if (path.includes('\0')) return undefined;
  const base = resolve(root);
  const file = normalize(join(base, path === '/' ? 'index.html' : path));
  return file.startsWith(base + sep) ? file : undefined;
}

import { fileURLToPath } from 'node:url';

import { defineConfig } from 'vite';

/** Builds the renderer (src/renderer) into dist/renderer, with relative paths so Electron can load it from a file. */
export default defineConfig({
  root: fileURLToPath(new URL('./src/renderer/', import.meta.url)),
  base: './',
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: fileURLToPath(new URL('./dist/renderer/', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    modulePreload: { polyfill: false },
  },
});

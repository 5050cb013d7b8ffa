import { fileURLToPath } from 'node:url';

import { defineConfig, type Plugin } from 'vite';

import { CONTENT_SECURITY_POLICY_META, CSP_PLACEHOLDER } from './src/shared/content-security-policy.js';

/** Writes the one Content Security Policy into index.html's meta tag; a build without it fails. */
const contentSecurityPolicy: Plugin = {
  name: 'cloudbus-content-security-policy',
  transformIndexHtml(html) {
    if (!html.includes(CSP_PLACEHOLDER)) throw new Error(`index.html has no ${CSP_PLACEHOLDER} placeholder for the Content Security Policy.`);
    return html.replaceAll(CSP_PLACEHOLDER, CONTENT_SECURITY_POLICY_META);
  },
};

/** Builds the renderer (src/renderer) into dist/renderer, with relative paths so Electron can load it from a file. */
export default defineConfig({
  root: fileURLToPath(new URL('./src/renderer/', import.meta.url)),
  base: './',
  oxc: { jsx: { runtime: 'automatic' } },
  plugins: [contentSecurityPolicy],
  build: {
    outDir: fileURLToPath(new URL('./dist/renderer/', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    modulePreload: { polyfill: false },
  },
});

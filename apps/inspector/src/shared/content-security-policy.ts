/** Directives of the policy that browsers honour in a `<meta>` tag. */
const DIRECTIVES = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
];

/**
 * The one Content Security Policy of the inspector's UI: nothing but its own files, and its own
 * WebSocket in web mode (`'self'` covers `ws://` on the page's own host and port). It is the web
 * server's header and the desktop app's header; the renderer's `<meta>` tag (written into
 * index.html at build) is {@link CONTENT_SECURITY_POLICY_META}, the same directives less
 * `frame-ancestors`, which browsers honour in a header only.
 */
export const CONTENT_SECURITY_POLICY = [...DIRECTIVES, "frame-ancestors 'none'"].join('; ');

/** The policy of the `<meta>` tag: {@link CONTENT_SECURITY_POLICY} without its header-only directive. */
export const CONTENT_SECURITY_POLICY_META = DIRECTIVES.join('; ');

/** Placeholder in src/renderer/index.html that the build replaces with {@link CONTENT_SECURITY_POLICY_META}. */
export const CSP_PLACEHOLDER = '__CONTENT_SECURITY_POLICY__';

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Host names the API answers to by default: the loopback names. */
export const DEFAULT_ALLOWED_HOSTS: readonly string[] = ['127.0.0.1', 'localhost', '::1'];

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The host name of a Host header or URL host (`[::1]:3000` -> `::1`), lower-case; undefined when malformed. */
export function hostName(host: string): string | undefined {
  const match = /^(?:\[([0-9a-f:.]+)\]|([a-z0-9.-]+))(?::\d{1,5})?$/i.exec(host);
  if (match === null) return undefined;
  return (match[1] ?? match[2]!).toLowerCase();
}

/**
 * Guards every request against DNS rebinding and cross-site requests:
 * - the Host header must name one of `allowedHosts` (421 otherwise), so a page on another name
 *   that resolves to this address cannot read the orders;
 * - a request that changes state (not GET/HEAD/OPTIONS) with an Origin header must come from this
 *   very host and port (403 otherwise); requests without one (curl, the demo) are let through;
 * - a POST must be `content-type: application/json` (415 otherwise): a cross-site form cannot send
 *   that without a CORS preflight, which this API never grants.
 */
export function guardRequests(app: FastifyInstance, allowedHosts: readonly string[]): void {
  const allowed = new Set(allowedHosts.map((host) => host.toLowerCase().replace(/^\[(.*)\]$/, '$1')));
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const host = request.headers.host ?? '';
    const name = hostName(host);
    if (name === undefined || !allowed.has(name)) {
      return reply
        .code(421)
        .send({ error: 'HostNotAllowed', message: `This pizzeria does not answer to host '${host.slice(0, 100)}'. Allowed: ${[...allowed].join(', ')}.` });
    }
    if (SAFE_METHODS.has(request.method)) return;
    const origin = request.headers.origin;
    if (origin !== undefined && !sameOrigin(origin, host)) {
      return reply.code(403).send({ error: 'OriginNotAllowed', message: `Requests that change state are refused from origin '${origin.slice(0, 100)}'.` });
    }
    if (request.method === 'POST') {
      const mediaType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (mediaType !== 'application/json') {
        return reply.code(415).send({ error: 'UnsupportedMediaType', message: `POST needs 'content-type: application/json' (send {} when there is nothing to say).` });
      }
    }
    return undefined;
  });
}

function sameOrigin(origin: string, host: string): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // 'null' (sandboxed frames, file://) and anything malformed
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  return url.host.toLowerCase() === host.toLowerCase() || (url.port === '' && `${url.hostname}:${url.protocol === 'http:' ? 80 : 443}` === host.toLowerCase());
}

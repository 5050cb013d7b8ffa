import type { FastifyInstance } from 'fastify';

/** A request body that is not JSON. */
export class InvalidJsonBodyError extends Error {
  override readonly name = 'InvalidJsonBodyError';
  readonly statusCode = 400;
  constructor() {
    super('The body is not valid JSON.');
  }
}

/**
 * Parses `application/json` bodies with plain JSON.parse: an empty body is null (POSTs that say
 * nothing), and a `__proto__` key stays an own property, which the strict schemas then refuse by
 * name like any other unknown property (Fastify's default parser calls it "not valid JSON").
 */
export function parseJsonBodies(app: FastifyInstance, bodyLimit: number): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (_request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      done(null, null);
      return;
    }
    try {
      done(null, JSON.parse(text) as unknown);
    } catch {
      done(new InvalidJsonBodyError(), undefined);
    }
  });
}

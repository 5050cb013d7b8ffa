import { ConfigurationError } from '../errors.js';

/**
 * The Standard Schema v1 interface (standardschema.dev), declared here so that core depends on no
 * schema library: zod, valibot, arktype and others implement it.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardSchemaResult<Output> | Promise<StandardSchemaResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

/** What a Standard Schema's `validate` returns. */
export type StandardSchemaResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: readonly StandardSchemaIssue[] };

/** One problem a schema found. */
export interface StandardSchemaIssue {
  readonly message: string;
  readonly path?: readonly (PropertyKey | { readonly key: PropertyKey })[] | undefined;
}

/**
 * Validates `value`; returns the issues, or undefined when it is valid. Only synchronous schemas
 * are supported: publish and prepare are synchronous about what they accept.
 */
export function schemaIssues(schema: StandardSchemaV1, value: unknown, eventType: string): readonly StandardSchemaIssue[] | undefined {
  const result = schema['~standard'].validate(value);
  if (result instanceof Promise) {
    result.catch(() => {});
    throw new ConfigurationError(`@EventType('${eventType}'): the schema validates asynchronously; use a synchronous schema (no async refinements).`);
  }
  return result.issues === undefined || result.issues.length === 0 ? undefined : result.issues;
}

/** `orderId: Required; lines.0.quantity: Expected number`, at most 10 issues. */
export function describeIssues(issues: readonly StandardSchemaIssue[]): string {
  const shown = issues.slice(0, 10).map((issue) => {
    const path = (issue.path ?? []).map((segment) => String(typeof segment === 'object' ? segment.key : segment)).join('.');
    return path === '' ? issue.message : `${path}: ${issue.message}`;
  });
  return shown.join('; ') + (issues.length > shown.length ? `; and ${issues.length - shown.length} more` : '');
}

/** Whether a value implements Standard Schema v1. */
export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  const standard = (value as { '~standard'?: { version?: unknown; validate?: unknown } } | null | undefined)?.['~standard'];
  return typeof standard === 'object' && standard !== null && standard.version === 1 && typeof standard.validate === 'function';
}

/** An absolute URI, as `dataschema` must be. */
const ABSOLUTE_URI = /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/;

/**
 * The schema's id, for the CloudEvent `dataschema`: a `$id` or `id` on the schema, or the `id` of
 * zod's `.meta()`, when it is an absolute URI (libraries use `id` for their own identifiers too).
 * Undefined when it has none.
 */
export function schemaIdOf(schema: StandardSchemaV1): string | undefined {
  const candidate = schema as { $id?: unknown; id?: unknown; meta?: unknown };
  const ids: unknown[] = [candidate.$id, candidate.id];
  if (typeof candidate.meta === 'function') {
    try {
      ids.push((candidate.meta as () => { id?: unknown } | undefined).call(schema)?.id);
    } catch {
      // Not zod's meta(): no id there.
    }
  }
  return ids.find((id): id is string => typeof id === 'string' && ABSOLUTE_URI.test(id));
}

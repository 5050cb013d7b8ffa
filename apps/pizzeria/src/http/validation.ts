/**
 * String patterns of the HTTP API's schemas. Ajv compiles them with the `u` flag, so `\p{...}`
 * works and a lone surrogate is one code point of category Cs.
 */
/** Text a person typed: no control characters (NUL, newlines...) and no lone surrogates. */
export const TEXT_PATTERN = '^[^\\p{Cc}\\p{Cs}]*$';
/** A phone number: an optional leading +, then digits, spaces, ( ) and -. */
export const PHONE_PATTERN = '^\\+?[0-9][0-9 ()-]{5,19}$';
/** An id: letters, digits and . _ : @ -. */
export const ID_PATTERN = '^[A-Za-z0-9._:@-]+$';
/** A positive integer in a query string (query values are strings: nothing is coerced). */
export const COUNT_PATTERN = '^[1-9][0-9]{0,3}$';

const PATTERN_MESSAGES: Readonly<Record<string, string>> = {
  [TEXT_PATTERN]: 'must not contain control characters or lone surrogates',
  [PHONE_PATTERN]: "must be a phone number: digits, spaces, '(', ')' and '-', optionally after a '+', 6 to 20 characters",
  [ID_PATTERN]: "may only contain letters, digits and '.', '_', ':', '@', '-'",
  [COUNT_PATTERN]: 'must be a whole number from 1',
};

/** A schema for text a person typed. */
export const text = (minLength: number, maxLength: number) => ({ type: 'string', minLength, maxLength, pattern: TEXT_PATTERN }) as const;

/** `/items/0/quantity` (+ `extra`) -> `items[0].quantity`. */
export function fieldName(instancePath: string, extra: unknown): string {
  const parts = instancePath
    .split('/')
    .filter((part) => part !== '')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (typeof extra === 'string') parts.push(extra);
  return parts.reduce((name, part) => (/^\d+$/.test(part) ? `${name}[${part}]` : name === '' ? part : `${name}.${part}`), '');
}

/** One Ajv error as Fastify hands it over. */
export interface SchemaError {
  readonly keyword: string;
  readonly instancePath: string;
  readonly params: Record<string, unknown>;
  readonly message?: string | undefined;
}

/** The field at fault and what is wrong with it, for a 400 answer. */
export function describeSchemaError(error: SchemaError, where: string): { field: string; message: string } {
  const params = error.params;
  const field = fieldName(error.instancePath, params['missingProperty'] ?? params['additionalProperty']);
  const subject = `${where}${field === '' ? '' : ` field '${field}'`}`;
  if (error.keyword === 'additionalProperties') return { field, message: `${subject} is not allowed (no such property)` };
  if (error.keyword === 'pattern') {
    const pattern = String(params['pattern']);
    return { field, message: `${subject} ${PATTERN_MESSAGES[pattern] ?? 'has the wrong form'}` };
  }
  return { field, message: `${subject} ${error.message ?? 'is invalid'}` };
}

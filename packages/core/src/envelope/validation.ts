import { InvalidCloudEventError } from '../errors.js';
import { CONTEXT_ATTRIBUTES, SPEC_VERSION, type CloudEvent } from './cloud-event.js';

/**
 * Strict but cheap CloudEvents 1.0 validation: regular expressions and type checks only, no
 * schema engine. Runs on every received message and every published one.
 */

const ATTRIBUTE_NAME = /^[a-z0-9]+$/;
// RFC 3339 date-time, with field ranges (a 60th second allows for leap seconds).
const RFC3339 =
  /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])[Tt ](?:[01]\d|2[0-3]):[0-5]\d:(?:[0-5]\d|60)(?:\.\d+)?(?:[Zz]|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;
// RFC 2046 media type, parameters allowed.
const MEDIA_TYPE = /^[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+(?:\s*;.*)?$/;
const ABSOLUTE_URI = /^[A-Za-z][A-Za-z0-9+.-]*:\S*$/;
// C0 and C1 control characters are not allowed in CloudEvents strings.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;
const WHITESPACE = /\s/;
// The common case: printable ASCII only, which needs no further check.
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** Checks one attribute name: lower-case ASCII letters and digits only, per the spec. */
export function assertAttributeName(name: string): void {
  if (!ATTRIBUTE_NAME.test(name)) {
    throw new InvalidCloudEventError(
      `Invalid attribute name '${printable(name)}': CloudEvents attribute names are lower-case letters a-z and digits 0-9 only.`,
      name,
    );
  }
}

/** Checks a string attribute value: no control characters, no lone surrogates. */
export function assertStringValue(name: string, value: string): void {
  if (PRINTABLE_ASCII.test(value)) return;
  if (CONTROL_CHARACTERS.test(value) || !value.isWellFormed()) {
    throw new InvalidCloudEventError(
      `Attribute '${name}' holds control characters or unpaired surrogates, which CloudEvents strings do not allow.`,
      name,
    );
  }
}

/**
 * Checks an extension attribute set by application code: a valid name that is not a context
 * attribute (nor `data`), and a string, integer or boolean value.
 */
export function assertExtension(name: string, value: unknown): void {
  assertAttributeName(name);
  if (CONTEXT_ATTRIBUTES.has(name) || name === 'data') {
    throw new InvalidCloudEventError(`'${name}' is a CloudEvents context attribute, not an extension: set it through its own option.`, name);
  }
  assertExtensionValue(name, value);
}

function assertExtensionValue(name: string, value: unknown): void {
  if (typeof value === 'string') {
    assertStringValue(name, value);
  } else if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw new InvalidCloudEventError(`Extension '${name}' must be an integer, a string or a boolean.`, name);
    }
  } else if (typeof value !== 'boolean') {
    throw new InvalidCloudEventError(`Extension '${name}' must be a string, an integer or a boolean.`, name);
  }
}

function requireNonEmpty(event: Record<string, unknown>, name: string): string {
  const value = event[name];
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidCloudEventError(
      value === undefined
        ? `Required attribute '${name}' is missing.`
        : `Required attribute '${name}' must be a non-empty string.`,
      name,
    );
  }
  return value;
}

/**
 * Validates a CloudEvent held as attributes: required attributes present and non-empty,
 * `specversion` 1.0, optional attributes well formed, every name valid, every value a string,
 * integer or boolean without control characters. Throws {@link InvalidCloudEventError}.
 */
export function validateCloudEvent(event: Record<string, unknown>): asserts event is CloudEvent {
  const specversion = event['specversion'];
  if (specversion !== SPEC_VERSION) {
    throw new InvalidCloudEventError(
      specversion === undefined
        ? `Required attribute 'specversion' is missing: not a CloudEvent.`
        : `Unsupported specversion '${printable(String(specversion))}': cloudbus reads CloudEvents ${SPEC_VERSION}.`,
      'specversion',
    );
  }
  requireNonEmpty(event, 'id');
  const source = requireNonEmpty(event, 'source');
  if (WHITESPACE.test(source)) {
    throw new InvalidCloudEventError(`Attribute 'source' must be a URI-reference without whitespace.`, 'source');
  }
  requireNonEmpty(event, 'type');

  for (const name in event) {
    if (name === 'data') continue;
    const value = event[name];
    if (value === undefined) continue;
    assertAttributeName(name);
    if (typeof value !== 'string' && CONTEXT_ATTRIBUTES.has(name)) {
      throw new InvalidCloudEventError(`Attribute '${name}' must be a string.`, name);
    }
    assertExtensionValue(name, value);
  }

  const time = event['time'];
  if (time !== undefined && !RFC3339.test(time as string)) {
    throw new InvalidCloudEventError(`Attribute 'time' must be an RFC 3339 timestamp, got '${printable(String(time))}'.`, 'time');
  }
  const contentType = event['datacontenttype'];
  if (contentType !== undefined && !MEDIA_TYPE.test(contentType as string)) {
    throw new InvalidCloudEventError(`Attribute 'datacontenttype' must be an RFC 2046 media type.`, 'datacontenttype');
  }
  const dataschema = event['dataschema'];
  if (dataschema !== undefined && !ABSOLUTE_URI.test(dataschema as string)) {
    throw new InvalidCloudEventError(`Attribute 'dataschema' must be an absolute URI.`, 'dataschema');
  }
  if (event['subject'] === '') {
    throw new InvalidCloudEventError(`Attribute 'subject' must not be empty when present.`, 'subject');
  }
}

/** Checks a `source` for events this process publishes (once, at start-up). */
export function assertSource(source: string): void {
  if (source.length === 0 || WHITESPACE.test(source)) {
    throw new InvalidCloudEventError(`Attribute 'source' must be a non-empty URI-reference without whitespace, got '${printable(source)}'.`, 'source');
  }
  assertStringValue('source', source);
}

/** Shortens and escapes a value for an error message, so hostile input cannot flood logs. */
export function printable(value: string): string {
  const escaped = JSON.stringify(value.length > 64 ? value.slice(0, 64) : value).slice(1, -1);
  return escaped.length > 64 || value.length > 64 ? `${escaped.slice(0, 64)}…` : escaped;
}

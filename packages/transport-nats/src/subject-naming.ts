import { createHash } from 'node:crypto';
import { Buffer } from 'node:buffer';

/**
 * How names on the NATS side derive from cloudbus names, one documented way each:
 * - subject of an event: `<prefix>.<type>`, each dot-separated token of the type kept when it is
 *   made of `A-Z a-z 0-9 - _`, any other character percent-encoded (`%XX` per UTF-8 byte; an empty
 *   token becomes `%`), so `com.example.order.placed` is `cloudbus.com.example.order.placed` and
 *   the mapping never merges two types;
 * - dead-letter subject: a dead letter of a message published to subject `s` is stored under
 *   `<deadLetterSubjectPrefix>.<s>`, the prefix being `<subjectPrefix>_dlq` unless set;
 * - durable consumer name: the subscription name `<service>.<handler>`, with `.` written `__`,
 *   `_` written `_5F` and any other character outside `A-Z a-z 0-9 -` as `_XX` per UTF-8 byte.
 */

const PLAIN_TOKEN = /^[A-Za-z0-9_-]+$/;
const PLAIN_NAME = /^[A-Za-z0-9-]*$/;
const HEX = '0123456789ABCDEF';

function escapeBytes(char: string, escape: string): string {
  let out = '';
  for (const byte of Buffer.from(char, 'utf8')) out += escape + HEX[byte >> 4]! + HEX[byte & 15]!;
  return out;
}

/** One subject token for one dot-separated part of an event type. */
function subjectToken(part: string): string {
  if (PLAIN_TOKEN.test(part)) return part;
  if (part === '') return '%';
  let out = '';
  for (const char of part) out += /[A-Za-z0-9_-]/.test(char) ? char : escapeBytes(char, '%');
  return out;
}

/** The subject events of `type` are published to: `<prefix>.<type>`, tokens escaped as documented above. */
export function subjectForType(prefix: string, type: string): string {
  let subject = prefix;
  for (const part of type.split('.')) subject += '.' + subjectToken(part);
  return subject;
}

/** The dead-letter subject prefix used when none is set: `<subjectPrefix>_dlq`. */
export function defaultDeadLetterSubjectPrefix(subjectPrefix: string): string {
  return `${subjectPrefix}_dlq`;
}

/** The subject a dead letter of a message published to `subject` is stored under. */
export function deadLetterSubject(deadLetterPrefix: string, subject: string): string {
  return `${deadLetterPrefix}.${subject}`;
}

/** The original subject of a dead letter stored under `subject`; undefined when `subject` is not under `deadLetterPrefix`. */
export function originalSubjectOf(deadLetterPrefix: string, subject: string): string | undefined {
  return subject.startsWith(`${deadLetterPrefix}.`) ? subject.slice(deadLetterPrefix.length + 1) : undefined;
}

/** The durable consumer name of a subscription, as documented above; names over 200 characters end with a hash. */
export function durableName(subscription: string): string {
  let name: string;
  if (PLAIN_NAME.test(subscription)) {
    name = subscription;
  } else {
    name = '';
    for (const char of subscription) {
      if (char === '.') name += '__';
      else if (/[A-Za-z0-9-]/.test(char)) name += char;
      else name += escapeBytes(char, '_');
    }
  }
  if (name.length === 0) name = '_';
  if (name.length <= 200) return name;
  return `${name.slice(0, 183)}-${createHash('sha256').update(subscription).digest('hex').slice(0, 16)}`;
}

/** True for a subject made of valid literal tokens (no wildcards, no whitespace, no empty token). */
export function isLiteralSubject(subject: string): boolean {
  if (subject === '') return false;
  for (const token of subject.split('.')) {
    if (token === '' || token === '*' || token === '>' || /[\s*>]/.test(token)) return false;
  }
  return true;
}

/** True for a valid stream name: letters, digits, `-` and `_`, at most 200 characters. */
export function isStreamName(name: string): boolean {
  return /^[A-Za-z0-9_-]{1,200}$/.test(name);
}

import type { EventDetail, EventSummary } from './captured-event.js';
import type { ProfileStatus } from './connection-profile.js';
import type { DeadLetterGroup } from './dead-letter-entry.js';
import type { FlowGraph } from './flow-graph.js';
import type { RateSnapshot } from './rates.js';

/**
 * The one typed channel between the UI and the backend, spoken over Electron IPC and over the
 * WebSocket of web mode alike. The UI sends requests and gets one reply each; the backend pushes a
 * tick (new events, drop count, rates, profile states) on a fixed interval. Both sides validate
 * every message they receive with the parsers below.
 */

/** Fields of a test event published from the form. */
export interface PublishParams {
  readonly profileId: string;
  readonly type: string;
  readonly source: string;
  readonly subject?: string | undefined;
  /** The data, as JSON text (empty: no data). */
  readonly data: string;
  /** Extension attributes, name to value. */
  readonly extensions: Readonly<Record<string, string>>;
}

/** Every request, its parameters and its result. */
export interface RequestMap {
  'profiles.list': { params: Record<string, never>; result: readonly ProfileStatus[] };
  'profile.open': { params: { readonly profileId: string }; result: ProfileStatus };
  'profile.close': { params: { readonly profileId: string }; result: ProfileStatus };
  'capture.snapshot': { params: Record<string, never>; result: CaptureSnapshot };
  'capture.clear': { params: Record<string, never>; result: null };
  'capture.export': { params: Record<string, never>; result: { readonly events: readonly unknown[] } };
  'capture.import': { params: { readonly events: readonly unknown[] }; result: { readonly imported: number; readonly rejected: number } };
  'event.get': { params: { readonly seq: number }; result: EventDetail | null };
  'event.publish': { params: PublishParams; result: { readonly id: string } };
  'flow.get': { params: { readonly correlationId: string }; result: FlowGraph };
  'deadletters.list': { params: Record<string, never>; result: readonly DeadLetterGroup[] };
  'deadletters.replay': { params: { readonly seqs: readonly number[] }; result: ReplayResult };
}

export type RequestName = keyof RequestMap;
export type RequestParams<N extends RequestName> = RequestMap[N]['params'];
export type RequestResult<N extends RequestName> = RequestMap[N]['result'];

/** What is in the capture, for a UI that (re)connects. */
export interface CaptureSnapshot {
  readonly events: readonly EventSummary[];
  readonly dropped: number;
  readonly capacity: number;
}

/** Outcome of replaying dead letters, one line per dead letter. */
export interface ReplayResult {
  readonly replayed: readonly { readonly seq: number; readonly id: string }[];
  readonly failed: readonly { readonly seq: number; readonly error: string }[];
}

/** UI to backend. */
export interface RequestMessage<N extends RequestName = RequestName> {
  readonly kind: 'request';
  readonly requestId: number;
  readonly name: N;
  readonly params: RequestParams<N>;
}

/** Backend to UI: the answer to one request. */
export type ReplyMessage =
  | { readonly kind: 'reply'; readonly requestId: number; readonly ok: true; readonly result: unknown }
  | { readonly kind: 'reply'; readonly requestId: number; readonly ok: false; readonly error: string };

/** Backend to UI, every tick while something changed. */
export interface TickMessage {
  readonly kind: 'tick';
  /** Captured since the previous tick, oldest first. */
  readonly events: readonly EventSummary[];
  /** Events dropped from the capture so far (the ring buffer was full). */
  readonly dropped: number;
  /** Events captured so far. */
  readonly total: number;
  /** Telemetry records the buses dropped before sending (their `dropped` count), so far. */
  readonly telemetryDropped: number;
  /** True when the capture was cleared or replaced (import) since the previous tick. */
  readonly reset: boolean;
  readonly rates: RateSnapshot;
  readonly profiles: readonly ProfileStatus[];
}

export type ServerMessage = ReplyMessage | TickMessage;

/** A message that does not follow the channel contract. */
export class InvalidChannelMessageError extends Error {
  override readonly name = 'InvalidChannelMessageError';
}

function fail(message: string): never {
  throw new InvalidChannelMessageError(message);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(params: Record<string, unknown>, name: string, max = 4_096): string {
  const value = params[name];
  if (typeof value !== 'string') fail(`'${name}' must be a string.`);
  if (value.length > max) fail(`'${name}' is longer than ${max} characters.`);
  return value;
}

function sequence(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) fail(`'${name}' must be a non-negative integer.`);
  return value;
}

function onlyKeys(params: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(params)) if (!allowed.includes(key)) fail(`Unknown parameter '${key}'.`);
}

const MAX_DATA = 1_048_576;
const MAX_BATCH = 200_000;

type Validators = { readonly [N in RequestName]: (params: Record<string, unknown>) => RequestParams<N> };

const NONE = (params: Record<string, unknown>): Record<string, never> => {
  onlyKeys(params, []);
  return {};
};

const VALIDATORS: Validators = {
  'profiles.list': NONE,
  'profile.open': (p) => (onlyKeys(p, ['profileId']), { profileId: text(p, 'profileId', 200) }),
  'profile.close': (p) => (onlyKeys(p, ['profileId']), { profileId: text(p, 'profileId', 200) }),
  'capture.snapshot': NONE,
  'capture.clear': NONE,
  'capture.export': NONE,
  'capture.import': (p) => {
    onlyKeys(p, ['events']);
    const events = p['events'];
    if (!Array.isArray(events)) fail(`'events' must be an array of CloudEvents.`);
    if (events.length > MAX_BATCH) fail(`'events' holds more than ${MAX_BATCH} events.`);
    return { events };
  },
  'event.get': (p) => (onlyKeys(p, ['seq']), { seq: sequence(p['seq'], 'seq') }),
  'event.publish': (p) => {
    onlyKeys(p, ['profileId', 'type', 'source', 'subject', 'data', 'extensions']);
    const extensions = p['extensions'];
    if (!isRecord(extensions)) fail(`'extensions' must be an object of strings.`);
    const checked: Record<string, string> = {};
    for (const [name, value] of Object.entries(extensions)) {
      if (!/^[a-z0-9]{1,20}$/.test(name)) fail(`Extension name '${name}' must be 1 to 20 lower-case letters or digits (CloudEvents attribute naming).`);
      if (typeof value !== 'string') fail(`Extension '${name}' must be a string.`);
      checked[name] = value;
    }
    const subject = p['subject'];
    if (subject !== undefined && typeof subject !== 'string') fail(`'subject' must be a string.`);
    return {
      profileId: text(p, 'profileId', 200),
      type: text(p, 'type', 255),
      source: text(p, 'source', 1_000),
      ...(subject === undefined || subject === '' ? {} : { subject }),
      data: text(p, 'data', MAX_DATA),
      extensions: checked,
    };
  },
  'flow.get': (p) => (onlyKeys(p, ['correlationId']), { correlationId: text(p, 'correlationId', 1_000) }),
  'deadletters.list': NONE,
  'deadletters.replay': (p) => {
    onlyKeys(p, ['seqs']);
    const seqs = p['seqs'];
    if (!Array.isArray(seqs) || seqs.length === 0 || seqs.length > 10_000) fail(`'seqs' must be an array of 1 to 10,000 sequence numbers.`);
    return { seqs: seqs.map((seq, index) => sequence(seq, `seqs[${index}]`)) };
  },
};

/** True when `name` is a request of the contract. */
export function isRequestName(name: unknown): name is RequestName {
  return typeof name === 'string' && Object.hasOwn(VALIDATORS, name);
}

/** Reads a UI-to-backend message; throws {@link InvalidChannelMessageError} for anything off contract. */
export function parseRequest(raw: unknown): RequestMessage {
  if (!isRecord(raw)) fail('A request must be an object.');
  if (raw['kind'] !== 'request') fail(`A request has kind 'request'.`);
  const requestId = raw['requestId'];
  if (typeof requestId !== 'number' || !Number.isSafeInteger(requestId)) fail(`'requestId' must be an integer.`);
  const name = raw['name'];
  if (!isRequestName(name)) fail(`Unknown request '${String(name)}'.`);
  const params = raw['params'] ?? {};
  if (!isRecord(params)) fail(`'params' must be an object.`);
  const validate = VALIDATORS[name] as (params: Record<string, unknown>) => RequestParams<RequestName>;
  return { kind: 'request', requestId, name, params: validate(params) };
}

/** Reads a backend-to-UI message; throws {@link InvalidChannelMessageError} for anything off contract. */
export function parseServerMessage(raw: unknown): ServerMessage {
  if (!isRecord(raw)) fail('A server message must be an object.');
  if (raw['kind'] === 'reply') {
    if (typeof raw['requestId'] !== 'number') fail(`A reply needs a numeric 'requestId'.`);
    if (raw['ok'] === true) return raw as unknown as ReplyMessage;
    if (raw['ok'] === false && typeof raw['error'] === 'string') return raw as unknown as ReplyMessage;
    fail(`A reply has ok: true and a result, or ok: false and an error.`);
  }
  if (raw['kind'] === 'tick') {
    if (!Array.isArray(raw['events']) || typeof raw['dropped'] !== 'number' || typeof raw['total'] !== 'number' || typeof raw['telemetryDropped'] !== 'number') {
      fail('A tick has events, dropped and total.');
    }
    if (!isRecord(raw['rates']) || !Array.isArray(raw['profiles'])) fail('A tick has rates and profiles.');
    return raw as unknown as TickMessage;
  }
  return fail(`Unknown server message kind '${String(raw['kind'])}'.`);
}

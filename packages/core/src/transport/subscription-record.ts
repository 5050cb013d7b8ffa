import type { SubscriptionInfo, SubscriptionSpec } from './transport.js';

/**
 * What a transport keeps about a subscription in its broker-side registry (a queue, a consumer's
 * description, a retained message): written on every `subscribe`, read back to reconcile what the
 * broker routes to it and to describe it. One format on every transport, as JSON.
 */
export interface SubscriptionRecord {
  /** The subscription, `<service>.<handler>`. */
  readonly name: string;
  readonly service: string | undefined;
  readonly handler: string | undefined;
  /** The CloudEvent types it was subscribed with. */
  readonly types: readonly string[];
  readonly concurrency: number | undefined;
  readonly retry: string | undefined;
  /** When it was subscribed (ISO 8601). */
  readonly updatedAt: string;
}

/** Longest record text read back: anything longer is not one of ours. */
const MAX_RECORD_CHARS = 64 * 1024;
const MAX_FIELD_CHARS = 1024;

/** The record of `spec`, subscribed now. */
export function subscriptionRecord(spec: SubscriptionSpec, now: Date = new Date()): SubscriptionRecord {
  return {
    name: spec.name,
    service: spec.description?.service,
    handler: spec.description?.handler,
    types: [...spec.types],
    concurrency: spec.concurrency,
    retry: spec.description?.retry,
    updatedAt: now.toISOString(),
  };
}

/** The record as JSON text. */
export function encodeSubscriptionRecord(record: SubscriptionRecord): string {
  return JSON.stringify(record);
}

/**
 * Reads a record back from text found on the broker, which anyone could have written: undefined
 * unless it is a JSON object with a string `name` and an array of string `types`; other fields
 * of the wrong kind are dropped. Never throws.
 */
export function decodeSubscriptionRecord(text: string | Uint8Array): SubscriptionRecord | undefined {
  try {
    const source = typeof text === 'string' ? text : new TextDecoder('utf-8', { fatal: true }).decode(text);
    if (source.length > MAX_RECORD_CHARS) return undefined;
    const value: unknown = JSON.parse(source);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    const record = value as Record<string, unknown>;
    const name = shortText(record['name']);
    const types = record['types'];
    if (name === undefined || name === '' || !Array.isArray(types) || !types.every((type) => shortText(type) !== undefined)) return undefined;
    const concurrency = record['concurrency'];
    const updatedAt = shortText(record['updatedAt']);
    return {
      name,
      service: shortText(record['service']),
      handler: shortText(record['handler']),
      types: types as string[],
      concurrency: Number.isSafeInteger(concurrency) && (concurrency as number) > 0 ? (concurrency as number) : undefined,
      retry: shortText(record['retry']),
      updatedAt: updatedAt !== undefined && !Number.isNaN(Date.parse(updatedAt)) ? updatedAt : new Date(0).toISOString(),
    };
  } catch {
    return undefined;
  }
}

function shortText(value: unknown): string | undefined {
  return typeof value === 'string' && value.length <= MAX_FIELD_CHARS ? value : undefined;
}

/** The types `previous` was subscribed with that `spec` no longer has: what reconciling removes. */
export function removedTypes(previous: SubscriptionRecord | undefined, spec: SubscriptionSpec): string[] {
  if (previous === undefined) return [];
  const now = new Set(spec.types);
  return previous.types.filter((type) => !now.has(type));
}

/** What the broker says about a subscription, beside its record. */
export interface BrokerSubscriptionView {
  readonly name: string;
  readonly bindings: readonly string[];
  readonly destination: string;
  readonly pending?: number | undefined;
  readonly consumers?: number | undefined;
  /** Concurrency as the broker has it (NATS max_ack_pending), else the record's. */
  readonly concurrency?: number | undefined;
}

/** A {@link SubscriptionInfo} from the broker's view and the record (undefined when none was found). */
export function subscriptionInfo(view: BrokerSubscriptionView, record: SubscriptionRecord | undefined): SubscriptionInfo {
  return {
    name: view.name,
    service: record?.service,
    handler: record?.handler,
    types: record?.types ?? [],
    bindings: view.bindings,
    destination: view.destination,
    concurrency: view.concurrency ?? record?.concurrency,
    retry: record?.retry,
    pending: view.pending,
    consumers: view.consumers,
    updatedAt: record?.updatedAt,
  };
}

/**
 * The subscriptions a broker-side registry describes, sorted by name: one per subscription, from
 * its newest record (of two written at the same time, the one read later), with what `view` says
 * the broker has of it. `view` is called one record at a time, in the order `records` gives them.
 */
export async function describeSubscriptions(
  records: Iterable<SubscriptionRecord>,
  view: (record: SubscriptionRecord) => Omit<BrokerSubscriptionView, 'name'> | Promise<Omit<BrokerSubscriptionView, 'name'>>,
): Promise<SubscriptionInfo[]> {
  const newest = new Map<string, SubscriptionRecord>();
  for (const record of records) {
    const known = newest.get(record.name);
    if (known === undefined || record.updatedAt >= known.updatedAt) newest.set(record.name, record);
  }
  const found: SubscriptionInfo[] = [];
  for (const record of newest.values()) found.push(subscriptionInfo({ name: record.name, ...(await view(record)) }, record));
  return byName(found);
}

/** Sorts by subscription name, in place. */
export function byName<T extends { readonly name: string }>(items: T[]): T[] {
  return items.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

import {
  byName,
  decodeSubscriptionRecord,
  encodeSubscriptionRecord,
  subscriptionInfo,
  subscriptionRecord,
  TopologyConflictError,
  type SubscriptionInfo,
  type SubscriptionRecord,
  type SubscriptionSpec,
} from '@cloudbus/core/transport';
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';

import { describe } from './nats-connection.js';
import { NatsConnectionError } from './nats-errors.js';
import type { ResolvedNatsOptions } from './nats-transport-options.js';
import { durableName, subjectForType } from './subject-naming.js';

const STREAM_NAME_IN_USE = 10058;
/** JetStream API error: the subjects overlap those of an existing stream. */
const SUBJECTS_OVERLAP = 10065;
/**
 * JetStream API errors when a stream's replicas cannot be placed: replicas > 1 on a server that
 * is not clustered (10074), no suitable peers for placement (10005), insufficient resources (10023).
 */
const PLACEMENT_ERRORS = new Set([10074, 10005, 10023]);

/** A subscription's durable consumer, as declared. */
export interface DeclaredConsumer {
  readonly durable: string;
  readonly filters: readonly string[];
}

/**
 * What the transport declares on JetStream, and brings to its options when it exists: the events
 * stream and the dead-letter stream (at connect), and one durable pull consumer per subscription,
 * whose description holds the subscription record (listed and removed through
 * {@link listSubscriptions} and {@link removeSubscription}).
 */
export class NatsTopology {
  readonly #jsm: JetStreamManager;
  readonly #options: ResolvedNatsOptions;

  constructor(jsm: JetStreamManager, options: ResolvedNatsOptions) {
    this.#jsm = jsm;
    this.#options = options;
  }

  /** Creates or updates the events stream and the dead-letter stream. */
  async declareStreams(): Promise<void> {
    const options = this.#options;
    await this.#ensureStream(options.stream, `${options.subjectPrefix}.>`, true);
    await this.#ensureStream(options.deadLetterStream, `${options.deadLetterSubjectPrefix}.>`, false);
  }

  /** Creates the subscription's durable consumer, or brings an existing one to this configuration (its start position stays). */
  async declareConsumer(spec: SubscriptionSpec): Promise<DeclaredConsumer> {
    const options = this.#options;
    const durable = durableName(spec.name);
    const filters = spec.types.map((type) => subjectForType(options.subjectPrefix, type));
    const config: Partial<ConsumerConfig> = {
      durable_name: durable,
      description: consumerDescription(spec),
      ack_policy: AckPolicy.Explicit,
      deliver_policy: options.startFrom === 'all' ? DeliverPolicy.All : DeliverPolicy.New,
      ack_wait: nanos(options.ackWaitMs),
      max_deliver: options.maxDeliver,
      max_ack_pending: options.maxAckPending ?? spec.concurrency,
    };
    if (filters.length === 1) config.filter_subject = filters[0]!;
    else config.filter_subjects = filters;
    await this.#ensureConsumer(durable, config, spec.name);
    return { durable, filters };
  }

  /**
   * The cloudbus durable consumers of the events stream (those whose description holds a
   * subscription record), with their filter subjects and what is waiting in them.
   */
  async listSubscriptions(): Promise<readonly SubscriptionInfo[]> {
    const stream = this.#options.stream;
    const found: SubscriptionInfo[] = [];
    for await (const consumer of await this.#jsm.consumers.list(stream)) {
      const record = recordOf(consumer.config.description);
      if (record === undefined || consumer.config.durable_name === undefined) continue;
      found.push(
        subscriptionInfo(
          {
            name: record.name,
            bindings: filtersOf(consumer.config),
            destination: `${stream}/${consumer.config.durable_name}`,
            pending: consumer.num_pending,
            concurrency: consumer.config.max_ack_pending,
          },
          record,
        ),
      );
    }
    return byName(found);
  }

  /** Deletes the subscription's durable consumer (and with it its place in the stream). */
  async removeSubscription(name: string): Promise<boolean> {
    const jsm = this.#jsm;
    const stream = this.#options.stream;
    const durable = durableName(name);
    try {
      const info = await jsm.consumers.info(stream, durable);
      if (recordOf(info.config.description)?.name !== name) return false;
      await jsm.consumers.delete(stream, durable);
    } catch (error) {
      if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound) return false;
      throw error;
    }
    this.#options.logger.info(`nats transport: removed subscription ${name} (durable ${durable} of stream ${stream})`, { subscription: name, durable });
    return true;
  }

  /** Creates the stream, or adds the subject to it and sets the duplicate window when it exists. */
  async #ensureStream(name: string, subject: string, events: boolean): Promise<void> {
    const jsm = this.#jsm;
    const options = this.#options;
    const duplicateWindow = nanos(options.duplicateWindowMs);
    const maxAge = nanos(events ? options.maxAgeMs : options.deadLetterMaxAgeMs);
    for (let attempt = 0; ; attempt++) {
      let existing;
      try {
        existing = await jsm.streams.info(name);
      } catch (error) {
        if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)) throw error;
      }
      if (existing === undefined) {
        try {
          await jsm.streams.add({
            name,
            subjects: [subject],
            storage: StorageType.File,
            retention: RetentionPolicy.Limits,
            duplicate_window: duplicateWindow,
            max_age: maxAge,
            num_replicas: options.replicas,
          });
          return;
        } catch (error) {
          // Another process created it meanwhile: update it instead.
          if (error instanceof JetStreamApiError && error.code === STREAM_NAME_IN_USE && attempt === 0) continue;
          if (options.replicas > 1 && error instanceof JetStreamApiError && PLACEMENT_ERRORS.has(error.code)) {
            throw new NatsConnectionError(
              `nats transport: cannot create the stream '${name}' with ${options.replicas} replicas: ${describe(error)}. ` +
                `Each replica needs its own JetStream server: a single server holds 1, a cluster needs at least ${options.replicas} JetStream servers with room for the stream. Lower the replicas option or add servers.`,
              { cause: error },
            );
          }
          const message = `nats transport: cannot create the stream '${name}' for subjects '${subject}': ${describe(error)}. Another stream may capture these subjects: choose other stream / subject prefix options, or delete that stream.`;
          if (isOverlap(error)) throw new TopologyConflictError(message, { cause: error });
          throw new NatsConnectionError(message, { cause: error });
        }
      }
      const config = existing.config;
      if ((config.num_replicas || 1) !== options.replicas) {
        options.logger.warn(`nats transport: the stream '${name}' exists with ${config.num_replicas || 1} replicas, the replicas option says ${options.replicas}; it keeps its own (change it with: nats stream edit ${name} --replicas ${options.replicas})`, {
          stream: name,
        });
      }
      const subjects = config.subjects ?? [];
      const hasSubject = subjects.includes(subject);
      if (hasSubject && config.duplicate_window === duplicateWindow && config.max_age === maxAge) return;
      if (config.max_age !== maxAge) {
        options.logger.info(`nats transport: the stream '${name}' now keeps messages for ${maxAge === 0 ? 'ever' : `${Math.round(maxAge / 1e6)} ms`} (was ${config.max_age === 0 ? 'for ever' : `${Math.round(config.max_age / 1e6)} ms`})`, {
          stream: name,
        });
      }
      try {
        await jsm.streams.update(name, {
          ...config,
          subjects: hasSubject ? subjects : [...subjects, subject],
          duplicate_window: duplicateWindow,
          max_age: maxAge,
        });
      } catch (error) {
        const message = `nats transport: cannot update the stream '${name}' to capture '${subject}': ${describe(error)}.`;
        if (isOverlap(error)) throw new TopologyConflictError(`${message} Another stream captures these subjects: choose other stream / subject prefix options, or delete that stream.`, { cause: error });
        throw new NatsConnectionError(message, { cause: error });
      }
      return;
    }
  }

  async #ensureConsumer(durable: string, config: Partial<ConsumerConfig>, subscription: string): Promise<void> {
    const jsm = this.#jsm;
    const stream = this.#options.stream;
    const filters = filtersOf(config);
    for (let attempt = 0; ; attempt++) {
      let existing;
      try {
        existing = await jsm.consumers.info(stream, durable);
      } catch (error) {
        if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound)) throw error;
      }
      try {
        if (existing === undefined) {
          await jsm.consumers.add(stream, config);
          return;
        }
        // Always brought to this configuration: the description holds the subscription record.
        const removed = filtersOf(existing.config).filter((filter) => !filters.includes(filter));
        if (removed.length > 0) {
          this.#options.logger.info(`nats transport: ${subscription} no longer receives ${removed.join(', ')}: the filter of durable ${durable} is updated`, {
            subscription,
            stream,
            durable,
            removed,
          });
        }
        const { deliver_policy: _start, durable_name: _name, ...update } = config;
        await jsm.consumers.update(stream, durable, update);
        return;
      } catch (error) {
        // Another instance created it meanwhile, with other settings: look again and update it.
        if (existing === undefined && attempt === 0 && error instanceof JetStreamApiError) continue;
        const message =
          `nats transport: cannot set up the durable consumer '${durable}' of stream '${stream}' for subscription '${subscription}': ${describe(error)}. ` +
          `If its event types changed and the server is older than 2.10, delete the consumer (nats consumer rm ${stream} ${durable}) and start again.`;
        // The server refused to bring the consumer it holds to this configuration: a conflict, not a connection problem.
        if (existing !== undefined && error instanceof JetStreamApiError) throw new TopologyConflictError(message, { cause: error });
        throw new NatsConnectionError(message, { cause: error });
      }
    }
  }
}

/** Consumer descriptions start with this, then the subscription record as JSON. */
const DESCRIPTION_PREFIX = 'cloudbus subscription ';
/** NATS refuses longer consumer descriptions. */
const MAX_DESCRIPTION_CHARS = 4096;

/** The consumer description: the prefix and the subscription record (without the types when it would be too long). */
function consumerDescription(spec: SubscriptionSpec): string {
  const record = subscriptionRecord(spec);
  const full = DESCRIPTION_PREFIX + encodeSubscriptionRecord(record);
  if (full.length <= MAX_DESCRIPTION_CHARS) return full;
  return (DESCRIPTION_PREFIX + encodeSubscriptionRecord({ ...record, types: [], handler: undefined, retry: undefined })).slice(0, MAX_DESCRIPTION_CHARS);
}

/** The record in a consumer description; for one written before records (`cloudbus subscription <name>`), a record with the name only. */
function recordOf(description: string | undefined): SubscriptionRecord | undefined {
  if (description === undefined || !description.startsWith(DESCRIPTION_PREFIX)) return undefined;
  const rest = description.slice(DESCRIPTION_PREFIX.length);
  if (rest.startsWith('{')) return decodeSubscriptionRecord(rest);
  if (rest === '' || rest.length > 1024) return undefined;
  return { name: rest, service: undefined, handler: undefined, types: [], concurrency: undefined, retry: undefined, updatedAt: new Date(0).toISOString() };
}

/** True for JetStream's refusal of subjects another stream captures. */
function isOverlap(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.code === SUBJECTS_OVERLAP;
}

function filtersOf(config: Partial<ConsumerConfig>): string[] {
  if (config.filter_subject !== undefined && config.filter_subject !== '') return [config.filter_subject];
  return [...(config.filter_subjects ?? [])];
}

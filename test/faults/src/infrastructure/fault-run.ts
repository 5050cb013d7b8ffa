import { Buffer } from 'node:buffer';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { EventBus, EventType, eventBrand, MemoryBroker, MemoryTransport, PublishError, decodeDeadLetter, prepareReplay, silentLogger, type CloudEvent, type Transport, type WireMessage } from '@cloudbus/core';
import { type StoredDeadLetter } from '@cloudbus/core/transport';
import { uniqueName } from '@cloudbus/test/brokers';

import { BYSTANDER, RECORDER, startFaultConsumer, type Behaviour, type FaultConsumerConfig, type RetrySpec, type RunningFaultConsumer } from '../process/fault-consumer.js';
import { checkLedger, type CheckResult } from './checker.js';
import { ChildConsumer } from './child-consumer.js';
import { faultBroker, type FaultBroker, type FaultBrokerKind } from './fault-broker.js';
import { FaultProxy } from './fault-proxy.js';
import { Ledger, type LedgerDeadLetter } from './ledger.js';
import { recordResult } from './results.js';

/** Where a case runs: a real broker, or the in-memory transport (consumers in this process). */
export type FaultTarget = FaultBrokerKind | 'memory';

/** Options of {@link FaultRun.create}. */
export interface FaultRunOptions {
  /** The fault, as named in the results table. */
  readonly fault: string;
  readonly target: FaultTarget;
  /** Broker URL (ignored for memory). */
  readonly url?: string | undefined;
  /** Put a {@link FaultProxy} between every client of the case and the broker. @default false */
  readonly proxy?: boolean;
  /** The idempotent inbox is on in the consumers. @default true */
  readonly inbox?: boolean;
  /** @default fixed, 5 attempts, 100 ms */
  readonly retry?: RetrySpec;
  /** Handler concurrency per consumer. @default 8 */
  readonly concurrency?: number;
  /** Largest event the bus accepts (publisher and consumers). @default the transport's */
  readonly maxMessageBytes?: number;
  /** Transport options for every client of the case, on top of the case's names (JSON only). */
  readonly transportOptions?: Readonly<Record<string, unknown>>;
}

/** A consumer of the case: a child process, or a bus in this process for the memory transport. */
export interface FaultConsumerHandle {
  readonly instance: string;
  /** SIGKILL (a child) or abandon without stopping (in process: not possible, throws). */
  kill(): Promise<void>;
  stop(): Promise<void>;
  readonly running: boolean;
  /** Resolves when the process exits (never, in process). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

class InProcessConsumer implements FaultConsumerHandle {
  readonly exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(() => {});
  #running = true;
  constructor(
    readonly instance: string,
    private readonly consumer: RunningFaultConsumer,
  ) {}
  get running(): boolean {
    return this.#running;
  }
  kill(): Promise<void> {
    return Promise.reject(new Error('an in-process consumer cannot be killed'));
  }
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    await this.consumer.stop();
  }
}

class ChildHandle implements FaultConsumerHandle {
  constructor(
    readonly instance: string,
    readonly child: ChildConsumer,
  ) {}
  get running(): boolean {
    return this.child.running;
  }
  get exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.child.exited;
  }
  kill(): Promise<void> {
    return this.child.kill();
  }
  stop(): Promise<void> {
    return this.child.stop();
  }
}

/** The fault event, as the test's publisher sees it. */
export interface FaultEvent {
  readonly [eventBrand]: string;
  readonly n: number;
  readonly pad?: string | undefined;
}

/** What {@link FaultRun.publish} did. */
export interface PublishReport {
  readonly confirmed: number;
  readonly rejected: number;
  /** Errors the caller got, by name. */
  readonly errors: Readonly<Record<string, number>>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * One fault case: names unique to it on the broker, a ledger in a temporary SQLite file, an
 * optional proxy, consumers (child processes, or in process for memory), a publisher that
 * records every id and its confirmation, and the check that ends in a row of the results table.
 */
export class FaultRun {
  readonly fault: string;
  readonly target: FaultTarget;
  readonly name: string;
  readonly service: string;
  readonly type: string;
  readonly ledger: Ledger;
  readonly broker: FaultBroker | undefined;
  readonly memory: MemoryBroker | undefined;
  readonly proxy: FaultProxy | undefined;
  readonly inbox: boolean;
  readonly consumers: FaultConsumerHandle[] = [];
  readonly #options: FaultRunOptions;
  readonly #dir: string;
  #publisher: EventBus | undefined;
  #publisherTransport: Transport | undefined;
  #eventClass: new (n: number, pad?: string) => FaultEvent;
  #published = 0;

  private constructor(options: FaultRunOptions, proxy: FaultProxy | undefined) {
    this.#options = options;
    this.fault = options.fault;
    this.target = options.target;
    this.name = uniqueName(`flt-${options.target}`);
    this.service = this.name.replace(/[^A-Za-z0-9-]/g, '-');
    this.type = `com.cloudbus.faults.${this.service.replace(/-/g, '')}.happened`;
    this.#dir = mkdtempSync(join(tmpdir(), 'cloudbus-faults-'));
    this.ledger = new Ledger(join(this.#dir, 'ledger.db'));
    this.inbox = options.inbox ?? true;
    this.proxy = proxy;
    if (options.target === 'memory') {
      this.broker = undefined;
      this.memory = new MemoryBroker();
    } else {
      if (options.url === undefined) throw new Error(`no URL for ${options.target}`);
      this.broker = faultBroker(options.target, options.url, this.name, options.transportOptions);
      this.memory = undefined;
    }
    class Event implements FaultEvent {
      declare readonly [eventBrand]: string;
      constructor(
        readonly n: number,
        readonly pad?: string,
      ) {}
    }
    EventType(this.type)(Event);
    this.#eventClass = Event;
  }

  /** Sets a case up (and its proxy, when asked). */
  static async create(options: FaultRunOptions): Promise<FaultRun> {
    let proxy: FaultProxy | undefined;
    if (options.proxy === true) {
      if (options.target === 'memory' || options.url === undefined) throw new Error('the proxy needs a real broker');
      const target = new URL(options.url);
      proxy = await FaultProxy.start(target.hostname, Number(target.port));
    }
    return new FaultRun(options, proxy);
  }

  /** Subscription names of the handlers. */
  get recorder(): string {
    return `${this.service}.${RECORDER}`;
  }
  get bystander(): string {
    return `${this.service}.${BYSTANDER}`;
  }

  /** The URL clients of this case use (the proxy's when there is one). */
  get clientUrl(): string | undefined {
    if (this.broker === undefined) return undefined;
    return this.proxy === undefined ? this.broker.url : this.proxy.urlFor(this.broker.url);
  }

  /** The consumer configuration for `instance`. */
  consumerConfig(instance: string, behaviour: Behaviour = {}): FaultConsumerConfig {
    const kind = this.target;
    return {
      transport: kind,
      url: this.clientUrl,
      transportOptions: {
        ...(this.broker?.options ?? {}),
        // MQTT: one persistent session per instance, resumed by a restarted instance of the same name.
        ...(kind === 'mqtt' ? { instanceId: `${this.name}-${instance}` } : {}),
      },
      service: this.service,
      type: this.type,
      ledgerPath: this.ledger.path,
      instance,
      inbox: this.inbox,
      retry: this.#options.retry ?? { kind: 'fixed', attempts: 5, delayMs: 100 },
      concurrency: this.#options.concurrency ?? 8,
      behaviour,
      maxMessageBytes: this.#options.maxMessageBytes,
    };
  }

  /** Starts a consumer (a child process; in process for memory). */
  async startConsumer(instance: string, behaviour: Behaviour = {}): Promise<FaultConsumerHandle> {
    const config = this.consumerConfig(instance, behaviour);
    let handle: FaultConsumerHandle;
    if (this.memory !== undefined) {
      handle = new InProcessConsumer(instance, await startFaultConsumer(config, new MemoryTransport({ broker: this.memory, ...this.#memoryLimit() })));
    } else {
      handle = new ChildHandle(instance, await ChildConsumer.start(config));
    }
    this.consumers.push(handle);
    return handle;
  }

  #memoryLimit(): { maxMessageBytes?: number } {
    return this.#options.maxMessageBytes === undefined ? {} : { maxMessageBytes: Math.max(this.#options.maxMessageBytes, 1024) };
  }

  /** The test's publishing bus (no handlers), connected on first use. */
  async publisher(): Promise<EventBus> {
    if (this.#publisher !== undefined) return this.#publisher;
    const transport = this.memory !== undefined ? new MemoryTransport({ broker: this.memory, ...this.#memoryLimit() }) : this.broker!.createTransport(this.clientUrl);
    const bus = new EventBus({
      service: `${this.service}-publisher`,
      transport,
      logger: silentLogger,
      ...(this.#options.maxMessageBytes === undefined ? {} : { maxMessageBytes: this.#options.maxMessageBytes }),
    });
    await bus.start();
    this.#publisher = bus;
    this.#publisherTransport = transport;
    return bus;
  }

  /** Builds `count` fault events (numbered on from the last ones). */
  events(count: number, pad?: string): FaultEvent[] {
    const events: FaultEvent[] = [];
    for (let i = 0; i < count; i++) events.push(new this.#eventClass(++this.#published, pad));
    return events;
  }

  /**
   * Publishes `count` events in batches, recording each id before it is sent and whether the
   * broker confirmed it; a rejected batch is recorded with the error the caller got, and publishing
   * goes on (as an application would, with its own retry or outbox). `between` runs after each batch.
   */
  async publish(count: number, options: { batchSize?: number; pad?: string; between?: (sent: number) => Promise<void> | void } = {}): Promise<PublishReport> {
    const bus = await this.publisher();
    const batchSize = options.batchSize ?? 100;
    let confirmed = 0;
    let rejected = 0;
    const errors: Record<string, number> = {};
    for (let sent = 0; sent < count; ) {
      const size = Math.min(batchSize, count - sent);
      const cloudEvents = bus.prepare(this.events(size, options.pad));
      const outcome = await this.publishPrepared(cloudEvents);
      confirmed += outcome.confirmed;
      rejected += outcome.rejected;
      if (outcome.error !== undefined) errors[outcome.error] = (errors[outcome.error] ?? 0) + 1;
      sent += size;
      await options.between?.(sent);
    }
    return { confirmed, rejected, errors };
  }

  /** Publishes prepared CloudEvents as one batch, recording them in the ledger. */
  async publishPrepared(cloudEvents: readonly CloudEvent[]): Promise<{ confirmed: number; rejected: number; error?: string }> {
    const bus = await this.publisher();
    const ids = cloudEvents.map((cloudEvent) => cloudEvent.id);
    this.ledger.published(ids);
    try {
      await bus.publishPrepared(cloudEvents);
      this.ledger.confirmed(ids);
      return { confirmed: ids.length, rejected: 0 };
    } catch (error) {
      const name = error instanceof Error ? error.name : typeof error;
      const message = `${name}: ${error instanceof Error ? error.message : String(error)}`;
      if (error instanceof PublishError) {
        const unconfirmed = new Set(error.unconfirmed);
        const accepted = ids.filter((id) => !unconfirmed.has(id));
        this.ledger.confirmed(accepted);
        this.ledger.rejected([...unconfirmed], message);
        return { confirmed: accepted.length, rejected: unconfirmed.size, error: name };
      }
      this.ledger.rejected(ids, message);
      return { confirmed: 0, rejected: ids.length, error: name };
    }
  }

  /**
   * Replays the dead letter of event `id` as an operator would (`prepareReplay`: a new id,
   * `causationid` = `id`, `replayfor` = the handler that gave up). The consumers record a replay
   * under the id it replays, so the ledger needs no new entry.
   */
  async replayDeadLetter(id: string): Promise<CloudEvent> {
    const bus = await this.publisher();
    const transport = this.#publisherTransport as Transport & { readDeadLetters(): Promise<readonly StoredDeadLetter[]> };
    const deadLetter = (await transport.readDeadLetters()).map(decodeDeadLetter).find((one) => one.cloudEvent?.id === id);
    if (deadLetter === undefined) throw new Error(`No dead letter of event ${id} to replay.`);
    const replay = prepareReplay(deadLetter);
    await bus.publishPrepared([replay]);
    return replay;
  }

  /** Reads the dead-letter destination (this case's handlers only) into the ledger. */
  async readDeadLetters(): Promise<LedgerDeadLetter[]> {
    await this.publisher();
    const transport = this.#publisherTransport as Transport & { readDeadLetters(): Promise<readonly StoredDeadLetter[]> };
    const stored = await transport.readDeadLetters();
    const rows: LedgerDeadLetter[] = [];
    for (const one of stored) {
      const deadLetter = decodeDeadLetter(one);
      const record = deadLetter.record;
      if (record === undefined || !record.handler.startsWith(`${this.service}.`)) continue;
      rows.push({
        id: deadLetter.cloudEvent?.id ?? one.message.headers['id'] ?? `raw:${Buffer.from(one.message.body).toString('utf8').slice(0, 40)}`,
        handler: record.handler,
        reason: record.reason,
        attempts: record.attempts,
        errorType: record.error.type,
        error: record.error.message,
        stack: record.error.stack ?? '',
        source: record.destination,
        firstTime: record.firstAttemptTime,
        time: record.time,
      });
    }
    this.ledger.recordDeadLetters(rows);
    return rows;
  }

  /**
   * Waits until every confirmed id reached each handler (handled or dead-lettered), then a quiet
   * period for late duplicates. Gives up after `timeoutMs` (the check then reports what is lost).
   */
  async settle(
    handlers: readonly string[],
    options: { timeoutMs?: number; quietMs?: number; deadLetters?: boolean; brokerLoss?: ReadonlySet<string> | undefined } = {},
  ): Promise<boolean> {
    const deadline = Date.now() + (options.timeoutMs ?? 120_000);
    let lastDeadLetterRead = 0;
    for (;;) {
      const now = Date.now();
      if (options.deadLetters === true && now - lastDeadLetterRead > 2_000) {
        await this.readDeadLetters().catch(() => []);
        lastDeadLetterRead = Date.now();
      }
      const result = checkLedger(this.ledger, { handlers, inbox: this.inbox, ...(options.brokerLoss ? { brokerLoss: options.brokerLoss } : {}) });
      if (result.lost.length === 0) {
        await sleep(options.quietMs ?? 1_500);
        return true;
      }
      if (now > deadline) return false;
      await sleep(250);
    }
  }

  /** Checks the ledger, records the row of the results table, and returns the verdict. */
  async check(
    handlers: readonly string[] = [this.recorder],
    options: {
      deadLetters?: boolean;
      brokerLabel?: string;
      extraViolations?: readonly string[];
      /** Ids the broker may lose by its documented durability, and why (see `CheckOptions.brokerLoss`). */
      brokerLoss?: { readonly ids: ReadonlySet<string>; readonly why: string };
    } = {},
  ): Promise<CheckResult> {
    if (options.deadLetters !== false) await this.readDeadLetters();
    const checked = checkLedger(this.ledger, { handlers, inbox: this.inbox, ...(options.brokerLoss ? { brokerLoss: options.brokerLoss.ids } : {}) });
    const result = { ...checked, violations: [...checked.violations, ...(options.extraViolations ?? [])] };
    const verdict = result.violations.length === 0 ? 'held' : result.violations.join('; ');
    const byBroker = result.lostByBroker.length;
    recordResult({
      fault: this.fault,
      broker: options.brokerLabel ?? this.target,
      messages: result.messages,
      lost: result.lost.length + byBroker,
      duplicated: result.duplicated,
      deadLettered: result.deadLettered,
      result: byBroker === 0 ? verdict : `${verdict}; ${byBroker} lost by the broker: ${options.brokerLoss!.why}`,
    });
    return result;
  }

  /** Stops consumers and the publisher, closes the proxy, deletes the case's names and files. */
  async dispose(): Promise<void> {
    await Promise.allSettled(this.consumers.map((consumer) => consumer.stop()));
    // Bounded: a transport whose close() never settles must not hang the battery (it is reported by its case).
    if (this.#publisher !== undefined) await Promise.race([this.#publisher.stop({ drainTimeoutMs: 1_000 }).catch(() => {}), sleep(30_000)]);
    await this.proxy?.close();
    await this.broker?.cleanup().catch(() => {});
    this.ledger.close();
    rmSync(this.#dir, { recursive: true, force: true });
  }

  /** Injects a raw message for this case's event type; false when the broker refused it. */
  injectRaw(message: WireMessage): Promise<boolean> {
    if (this.memory !== undefined) {
      this.memory.publish(this.type, message);
      return Promise.resolve(true);
    }
    return this.broker!.injectRaw(this.type, message);
  }
}

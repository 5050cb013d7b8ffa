import type { WireMessage } from '../../envelope/wire-codec.js';
import type { Delivery, StoredDeadLetter, SubscriptionSpec } from '../transport.js';

/**
 * An in-process broker with the semantics cloudbus expects of a real one: durable named
 * subscriptions bound to event types, competing consumers, bounded unacked deliveries per
 * consumer, redelivery of unsettled messages when a consumer leaves, delayed redelivery held by
 * the broker, and a dead-letter store. Nothing survives the process.
 *
 * Brokers are shared by name within a process (`MemoryBroker.named('shop')`), so that several
 * buses, or a bus and its next start, meet on the same one.
 */
export class MemoryBroker {
  static readonly #byName = new Map<string, MemoryBroker>();

  /** The broker of that name in this process, created on first use. */
  static named(name = 'default'): MemoryBroker {
    let broker = MemoryBroker.#byName.get(name);
    if (broker === undefined) {
      broker = new MemoryBroker();
      MemoryBroker.#byName.set(name, broker);
    }
    return broker;
  }

  readonly #queues = new Map<string, MemoryQueue>();
  readonly #bindings = new Map<string, Set<MemoryQueue>>();
  readonly #deadLetters: StoredDeadLetter[] = [];

  /** Routes a message to every subscription bound to `type`. Messages no subscription is bound to are dropped, as by an exchange. */
  publish(type: string, message: WireMessage): void {
    const queues = this.#bindings.get(type);
    if (queues === undefined) return;
    const now = Date.now();
    for (const queue of queues) queue.enqueue({ message, destination: type, attempt: 1, firstAttemptAt: now });
  }

  /** Declares a subscription (idempotent) and binds it to the spec's types. */
  declare(spec: SubscriptionSpec): MemoryQueue {
    let queue = this.#queues.get(spec.name);
    if (queue === undefined) {
      queue = new MemoryQueue(spec.name, this);
      this.#queues.set(spec.name, queue);
    }
    for (const type of spec.types) {
      let bound = this.#bindings.get(type);
      if (bound === undefined) this.#bindings.set(type, (bound = new Set()));
      bound.add(queue);
    }
    return queue;
  }

  /** Stores a dead letter. */
  storeDeadLetter(message: WireMessage, destination: string): void {
    this.#deadLetters.push({ message, destination });
  }

  /** Dead letters stored so far, oldest first. */
  deadLetters(): readonly StoredDeadLetter[] {
    return [...this.#deadLetters];
  }

  /** Messages waiting in a subscription (ready, unacked and delayed), or 0 when it does not exist. */
  depth(subscription: string): number {
    return this.#queues.get(subscription)?.depth ?? 0;
  }

  /** Forgets every subscription, binding, pending message and dead letter. */
  reset(): void {
    for (const queue of this.#queues.values()) queue.clear();
    this.#queues.clear();
    this.#bindings.clear();
    this.#deadLetters.length = 0;
  }
}

interface Entry {
  readonly message: WireMessage;
  readonly destination: string;
  readonly attempt: number;
  readonly firstAttemptAt: number;
}

/** A consumer attached to a queue: one bus instance's subscription. */
export class MemoryConsumer {
  readonly inFlight = new Set<MemoryDelivery>();
  active = true;

  constructor(
    readonly concurrency: number,
    readonly onDelivery: (delivery: Delivery) => void,
  ) {}
}

const SETTLED = Promise.resolve();

class MemoryDelivery implements Delivery {
  settled = false;

  constructor(
    readonly entry: Entry,
    readonly queue: MemoryQueue,
    readonly consumer: MemoryConsumer,
  ) {}

  get message(): WireMessage {
    return this.entry.message;
  }
  get attempt(): number {
    return this.entry.attempt;
  }
  get firstAttemptAt(): number {
    return this.entry.firstAttemptAt;
  }
  get destination(): string {
    return this.entry.destination;
  }

  ack(): Promise<void> {
    this.#settle();
    return SETTLED;
  }

  nack(delayMs: number): Promise<void> {
    if (this.#settle()) this.queue.redeliverLater(this.entry, delayMs);
    return SETTLED;
  }

  deadLetter(message: WireMessage): Promise<void> {
    if (this.#settle()) this.queue.broker.storeDeadLetter(message, this.entry.destination);
    return SETTLED;
  }

  /** Marks the delivery settled; false when it already was (or was handed back), so it is a no-op. */
  #settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.consumer.inFlight.delete(this);
    this.queue.schedule();
    return true;
  }
}

/** A durable subscription: ready messages, consumers competing for them, delayed redeliveries. */
export class MemoryQueue {
  #ready: Entry[] = [];
  #head = 0;
  readonly #consumers: MemoryConsumer[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  #next = 0;
  #scheduled = false;

  constructor(
    readonly name: string,
    readonly broker: MemoryBroker,
  ) {}

  get depth(): number {
    let unacked = 0;
    for (const consumer of this.#consumers) unacked += consumer.inFlight.size;
    return this.#ready.length - this.#head + unacked + this.#timers.size;
  }

  enqueue(entry: Entry): void {
    this.#ready.push(entry);
    this.schedule();
  }

  redeliverLater(entry: Entry, delayMs: number): void {
    const next = { ...entry, attempt: entry.attempt + 1 };
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.enqueue(next);
    }, delayMs);
    this.#timers.add(timer);
  }

  attach(consumer: MemoryConsumer): void {
    this.#consumers.push(consumer);
    this.schedule();
  }

  /** Detaches a consumer; its unsettled deliveries go back to the front of the queue, as redeliveries. */
  detach(consumer: MemoryConsumer): void {
    consumer.active = false;
    const index = this.#consumers.indexOf(consumer);
    if (index !== -1) this.#consumers.splice(index, 1);
    const handedBack: Entry[] = [];
    for (const delivery of consumer.inFlight) {
      delivery.settled = true;
      handedBack.push({ ...delivery.entry, attempt: delivery.entry.attempt + 1 });
    }
    consumer.inFlight.clear();
    if (handedBack.length > 0) {
      this.#ready = [...handedBack, ...this.#ready.slice(this.#head)];
      this.#head = 0;
    }
    this.schedule();
  }

  clear(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#ready = [];
    this.#head = 0;
    this.#consumers.length = 0;
  }

  /** Dispatches on a later turn of the event loop, so publishers never run handlers synchronously. */
  schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#dispatch();
    });
  }

  #dispatch(): void {
    const consumers = this.#consumers;
    while (this.#head < this.#ready.length && consumers.length > 0) {
      const consumer = this.#pickConsumer();
      if (consumer === undefined) break;
      const entry = this.#ready[this.#head]!;
      this.#head++;
      const delivery = new MemoryDelivery(entry, this, consumer);
      consumer.inFlight.add(delivery);
      consumer.onDelivery(delivery);
    }
    if (this.#head > 1024 && this.#head * 2 > this.#ready.length) {
      this.#ready = this.#ready.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Round robin over active consumers with spare capacity. */
  #pickConsumer(): MemoryConsumer | undefined {
    const consumers = this.#consumers;
    for (let i = 0; i < consumers.length; i++) {
      const index = (this.#next + i) % consumers.length;
      const consumer = consumers[index]!;
      if (consumer.active && consumer.inFlight.size < consumer.concurrency) {
        this.#next = index + 1;
        return consumer;
      }
    }
    return undefined;
  }
}

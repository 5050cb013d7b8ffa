import type { WireMessage } from '../../envelope/wire-codec.js';
import { byName, removedTypes, subscriptionInfo, subscriptionRecord, type SubscriptionRecord } from '../subscription-record.js';
import type { VirtualClock } from '../../scheduling/clock.js';
import { SETTLED, type Delivery, type StoredDeadLetter, type SubscriptionInfo, type SubscriptionSpec } from '../transport.js';

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

  /**
   * The clock delayed redeliveries wait on: a {@link VirtualClock} holds them until it is moved
   * (tests), otherwise they wait on real timers.
   */
  readonly clock: VirtualClock | undefined;
  readonly #queues = new Map<string, MemoryQueue>();
  readonly #bindings = new Map<string, Set<MemoryQueue>>();
  readonly #deadLetters: StoredDeadLetter[] = [];
  readonly #records = new Map<string, SubscriptionRecord>();

  /** @param options.clock hold delayed redeliveries on this virtual clock instead of real timers */
  constructor(options: { readonly clock?: VirtualClock } = {}) {
    this.clock = options.clock;
  }

  /**
   * Routes a message to every subscription bound to `type`, published at `now` (ms since the
   * epoch). Messages no subscription is bound to are dropped, as by an exchange.
   */
  publish(type: string, message: WireMessage, now: number = Date.now()): void {
    const queues = this.#bindings.get(type);
    if (queues === undefined) return;
    for (const queue of queues) queue.enqueue(new MemoryDelivery(message, type, 1, now, queue));
  }

  /**
   * Declares a subscription (idempotent) and binds it to the spec's types, and to those only: the
   * bindings of types an earlier declaration had and this one has not are removed.
   */
  declare(spec: SubscriptionSpec): MemoryQueue {
    let queue = this.#queues.get(spec.name);
    if (queue === undefined) {
      queue = new MemoryQueue(spec.name, this);
      this.#queues.set(spec.name, queue);
    }
    for (const type of removedTypes(this.#records.get(spec.name), spec)) this.#bindings.get(type)?.delete(queue);
    this.#records.set(spec.name, subscriptionRecord(spec));
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

  /** Removes the dead letters `select` picks; returns how many. */
  removeDeadLetters(select: (letter: StoredDeadLetter) => boolean): number {
    const kept = this.#deadLetters.filter((letter) => !select(letter));
    const removed = this.#deadLetters.length - kept.length;
    this.#deadLetters.splice(0, this.#deadLetters.length, ...kept);
    return removed;
  }

  /** Messages waiting in a subscription (ready, unacked and delayed), or 0 when it does not exist. */
  depth(subscription: string): number {
    return this.#queues.get(subscription)?.depth ?? 0;
  }

  /** The declared subscriptions, with their pending messages and consumers. */
  subscriptions(): SubscriptionInfo[] {
    const found: SubscriptionInfo[] = [];
    for (const [name, queue] of this.#queues) {
      const record = this.#records.get(name);
      found.push(subscriptionInfo({ name, bindings: record?.types ?? [], destination: name, pending: queue.depth, consumers: queue.consumers }, record));
    }
    return byName(found);
  }

  /** Deletes a subscription, its bindings and its pending messages; false when there was none. */
  remove(subscription: string): boolean {
    const queue = this.#queues.get(subscription);
    if (queue === undefined) return false;
    queue.clear();
    this.#queues.delete(subscription);
    this.#records.delete(subscription);
    for (const bound of this.#bindings.values()) bound.delete(queue);
    return true;
  }

  /**
   * Some subscription has a message ready or handed out and not settled yet (delayed ones not
   * counted): the buses on this broker are still working.
   */
  busy(): boolean {
    for (const queue of this.#queues.values()) if (queue.busy) return true;
    return false;
  }

  /** Forgets every subscription, binding, pending message and dead letter. */
  reset(): void {
    for (const queue of this.#queues.values()) queue.clear();
    this.#queues.clear();
    this.#bindings.clear();
    this.#records.clear();
    this.#deadLetters.length = 0;
  }
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

/**
 * A message in a queue, then its delivery to the consumer it is handed to: one object for both.
 * A class, as every per-message object on the hot path: V8 may allocate an object literal's
 * objects straight in the old generation once many of them survive a young-generation GC
 * (allocation-site pretenuring), which turns every message into old-generation garbage.
 */
class MemoryDelivery implements Delivery {
  settled = false;
  /** Set when the queue hands it out. */
  consumer: MemoryConsumer | undefined = undefined;

  constructor(
    readonly message: WireMessage,
    readonly destination: string,
    readonly attempt: number,
    readonly firstAttemptAt: number,
    readonly queue: MemoryQueue,
  ) {}

  /** The same message, to be delivered once more. */
  again(): MemoryDelivery {
    return new MemoryDelivery(this.message, this.destination, this.attempt + 1, this.firstAttemptAt, this.queue);
  }

  ack(): Promise<void> {
    this.#settle();
    return SETTLED;
  }

  nack(delayMs: number): Promise<void> {
    if (this.#settle()) this.queue.redeliverLater(this, delayMs);
    return SETTLED;
  }

  deadLetter(message: WireMessage): Promise<void> {
    if (this.#settle()) this.queue.broker.storeDeadLetter(message, this.destination);
    return SETTLED;
  }

  /** Marks the delivery settled; false when it already was (or was handed back), so it is a no-op. */
  #settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.consumer!.inFlight.delete(this);
    this.queue.schedule();
    return true;
  }
}

/** A durable subscription: ready messages, consumers competing for them, delayed redeliveries. */
export class MemoryQueue {
  #ready: MemoryDelivery[] = [];
  #head = 0;
  readonly #consumers: MemoryConsumer[] = [];
  readonly #timers = new Set<NodeJS.Timeout | (() => void)>();
  #next = 0;
  #scheduled = false;

  constructor(
    readonly name: string,
    readonly broker: MemoryBroker,
  ) {}

  /** Consumers attached now. */
  get consumers(): number {
    return this.#consumers.length;
  }

  get depth(): number {
    let unacked = 0;
    for (const consumer of this.#consumers) unacked += consumer.inFlight.size;
    return this.#ready.length - this.#head + unacked + this.#timers.size;
  }

  /** A message is ready or handed out and not settled. */
  get busy(): boolean {
    // Nobody consumes it (a subscription of a bus that stopped): nothing will happen to it.
    if (!this.#consumers.some((consumer) => consumer.active)) return false;
    if (this.#ready.length > this.#head || this.#scheduled) return true;
    for (const consumer of this.#consumers) if (consumer.inFlight.size > 0) return true;
    return false;
  }

  enqueue(delivery: MemoryDelivery): void {
    this.#ready.push(delivery);
    this.schedule();
  }

  redeliverLater(delivery: MemoryDelivery, delayMs: number): void {
    const next = delivery.again();
    const clock = this.broker.clock;
    if (clock !== undefined) {
      const cancel = clock.setTimer(delayMs, () => {
        this.#timers.delete(cancel);
        this.enqueue(next);
      });
      this.#timers.add(cancel);
      return;
    }
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
    const handedBack: MemoryDelivery[] = [];
    for (const delivery of consumer.inFlight) {
      delivery.settled = true;
      handedBack.push(delivery.again());
    }
    consumer.inFlight.clear();
    if (handedBack.length > 0) {
      this.#ready = [...handedBack, ...this.#ready.slice(this.#head)];
      this.#head = 0;
    }
    this.schedule();
  }

  clear(): void {
    for (const timer of this.#timers) {
      if (typeof timer === 'function') timer();
      else clearTimeout(timer);
    }
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
      const delivery = this.#ready[this.#head]!;
      this.#head++;
      delivery.consumer = consumer;
      consumer.inFlight.add(delivery);
      consumer.onDelivery(delivery);
    }
    if (this.#head === this.#ready.length) {
      // All handed out: let go of the entries now, before they outlive a young-generation GC.
      this.#ready = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#ready.length) {
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

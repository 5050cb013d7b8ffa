import type { Delivery } from '@cloudbus/core/transport';

import type { MqttDelivery } from './mqtt-delivery.js';

/** Counts connections: a delivery whose connection is gone is dropped (the broker sends it again). */
export interface ConnectionEpoch {
  readonly epoch: number;
}

/** What {@link DeliveryFlow.takeAll} empties out, for handing back to the group. */
export interface Unsettled {
  /** With core, not settled yet: a handler may have run them. */
  readonly withCore: readonly MqttDelivery[];
  /** Received, waiting for room under the concurrency limit. */
  readonly waiting: readonly MqttDelivery[];
  /** Redeliveries held until their due time. */
  readonly held: readonly MqttDelivery[];
}

/**
 * Flow control of one subscription: at most `concurrency` deliveries with core at once, the rest
 * waiting here in arrival order (unacknowledged, so nothing is lost if this process dies), and
 * redeliveries that are not due yet held until they are. Deliveries of a connection that is gone
 * are dropped: the broker sends them again on the resumed session.
 */
export class DeliveryFlow {
  #active = 0;
  #queue: MqttDelivery[] = [];
  #head = 0;
  #pumping = false;
  #running = true;
  /** Deliveries with core and not settled yet: the newest, linked to the older ones through `previous`. */
  #newest: MqttDelivery | undefined;
  /** Redeliveries waiting for their due time, by timer. */
  readonly #held = new Map<NodeJS.Timeout, MqttDelivery>();

  constructor(
    private readonly concurrency: number,
    private readonly onDelivery: (delivery: Delivery) => void,
    private readonly connection: ConnectionEpoch,
  ) {}

  /** A delivery received: held until it is due, then handed to core at once if there is room, else queued. */
  receive(delivery: MqttDelivery): void {
    const wait = delivery.notBefore === 0 ? 0 : delivery.notBefore - Date.now();
    if (wait > 0) {
      const timer = setTimeout(() => {
        this.#held.delete(timer);
        this.#enqueue(delivery);
      }, wait);
      this.#held.set(timer, delivery);
      return;
    }
    this.#enqueue(delivery);
  }

  #enqueue(delivery: MqttDelivery): void {
    if (delivery.epoch !== this.connection.epoch) return; // its connection is gone: the broker sends it again
    if (this.#head === this.#queue.length && this.#running && this.#active < this.concurrency && !this.#pumping) {
      this.#active++;
      this.#withCore(delivery);
      this.onDelivery(delivery);
      return;
    }
    this.#queue.push(delivery);
    this.#pump();
  }

  /** Core settled `delivery`: frees its room. False when it was settled already (settle once). */
  settle(delivery: MqttDelivery): boolean {
    if (delivery.settled) return false;
    delivery.settled = true;
    this.#settledByCore(delivery);
    this.#active--;
    this.#pump();
    return true;
  }

  /** Hands nothing more to core (what waits stays here, for {@link takeAll}). */
  stop(): void {
    this.#running = false;
  }

  /** Nothing waits for room and nothing is held. */
  get drained(): boolean {
    return this.#head === this.#queue.length && this.#held.size === 0;
  }

  /** The connection was lost: what was received and is not settled belongs to it, and the broker sends it again. */
  forget(): void {
    for (const timer of this.#held.keys()) clearTimeout(timer);
    this.#held.clear();
    this.#queue = [];
    this.#head = 0;
    this.#takeWithCore();
  }

  /** Empties out everything not settled, for handing it back to the group. */
  takeAll(): Unsettled {
    const withCore = this.#takeWithCore();
    const waiting = this.#queue.slice(this.#head);
    this.#queue = [];
    this.#head = 0;
    const held: MqttDelivery[] = [];
    for (const [timer, delivery] of this.#held) {
      clearTimeout(timer);
      held.push(delivery);
    }
    this.#held.clear();
    return { withCore, waiting, held };
  }

  #withCore(delivery: MqttDelivery): void {
    const newest = this.#newest;
    delivery.previous = newest;
    if (newest !== undefined) newest.next = delivery;
    this.#newest = delivery;
  }

  #settledByCore(delivery: MqttDelivery): void {
    const { previous, next } = delivery;
    if (previous !== undefined) previous.next = next;
    if (next !== undefined) next.previous = previous;
    else if (this.#newest === delivery) this.#newest = previous;
    delivery.previous = delivery.next = undefined;
  }

  /** Empties the list of deliveries with core, returning them. */
  #takeWithCore(): MqttDelivery[] {
    const taken: MqttDelivery[] = [];
    for (let delivery = this.#newest; delivery !== undefined; delivery = delivery.previous) taken.push(delivery);
    for (const delivery of taken) delivery.previous = delivery.next = undefined;
    this.#newest = undefined;
    return taken;
  }

  /**
   * Hands waiting deliveries to core, oldest first, while there is room. Not re-entrant: a handler
   * that settles synchronously (inside onDelivery) only frees room, and this loop goes on.
   */
  #pump(): void {
    if (this.#pumping || !this.#running) return;
    this.#pumping = true;
    try {
      while (this.#active < this.concurrency && this.#head < this.#queue.length) {
        const next = this.#queue[this.#head]!;
        this.#queue[this.#head++] = undefined as unknown as MqttDelivery;
        if (next.epoch !== this.connection.epoch) continue;
        this.#active++;
        this.#withCore(next);
        this.onDelivery(next);
      }
      if (this.#head === this.#queue.length) {
        this.#queue = [];
        this.#head = 0;
      }
    } finally {
      this.#pumping = false;
    }
  }
}

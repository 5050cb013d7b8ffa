import type { Delivery, Logger, Subscription, SubscriptionSpec, WireMessage } from '@cloudbus/core/transport';
import { createInbox, type Msg, type NatsConnection, type Subscription as NatsInbox } from '@nats-io/transport-node';

import { readNatsMessage } from './nats-binding.js';
import { NatsDelivery, type DeliveryOwner } from './nats-delivery.js';

/**
 * Pull requests stay open this long on the server, then end with a 408 and are renewed. Short on
 * purpose: a subscription that closes waits for its open request to end before handing its
 * messages back (see {@link NatsSubscription.close}), and a request left behind by a crashed
 * process lingers this long on the server.
 */
const EXPIRES_MS = 2_000;
/**
 * While messages are owed, the server answers within {@link EXPIRES_MS} (messages, or a 408 as a
 * request expires); nothing for this long means the requests were lost with the connection or the
 * server, and they are renewed.
 */
const LOST_AFTER_MS = EXPIRES_MS + 3_000;
/** Pause before a new pull request after the server refused one (consumer missing, limits). */
const REFUSED_PAUSE_MS = 1_000;

/** A pull request that may still be open: what it asked for, and when. */
class PullRequest {
  constructor(
    readonly batch: number,
    readonly sentAt: number,
  ) {}
}

/** What a subscription needs from its transport. */
export interface SubscriptionEnvironment {
  readonly nc: NatsConnection;
  /** `$JS.API.CONSUMER.MSG.NEXT.<stream>.<durable>` */
  readonly pullSubject: string;
  readonly ackWaitMs: number;
  readonly logger: Logger;
  /** Stores a dead letter for the delivery; resolves once JetStream acknowledged it. */
  storeDeadLetter(delivery: NatsDelivery, message: WireMessage): Promise<void>;
  /** Called once the subscription is closed. */
  closed(subscription: NatsSubscription): void;
}

/**
 * One process's share of a durable pull consumer. Its open pull requests never ask for more
 * messages than it has free slots (`spec.concurrency` minus unsettled deliveries minus messages
 * already asked for), so it never holds more than `spec.concurrency` unsettled deliveries, and idle
 * instances compete fairly for new messages. It asks again before the open requests run out, as
 * soon as half of the slots are free (or any slot, when no request is open): a request is
 * then always waiting on the server, and a message stored while one request ends and the next
 * one travels is not held back for that round trip. While a delivery is unsettled it tells the
 * server every AckWait / 3 that it is being worked on.
 */
export class NatsSubscription implements Subscription, DeliveryOwner {
  readonly #env: SubscriptionEnvironment;
  readonly #spec: SubscriptionSpec;
  readonly #onDelivery: (delivery: Delivery) => void;
  readonly #inbox: string;
  readonly #inboxSubscription: NatsInbox;
  readonly #pullPrefix: string;
  /** Handed to core, not settled yet. */
  readonly #inFlight = new Set<NatsDelivery>();
  /**
   * Received but not handed to core: while every slot was taken (only after a lost request was
   * renewed), or after stop(). Kept alive with progress signals; handed out as slots free up, or
   * back to the server at close.
   */
  readonly #waiting: NatsDelivery[] = [];
  #active = true;
  #closing: Promise<void> | undefined;
  /** Number in the reply subject (`<inbox>.<number>`) of the last pull request sent. */
  #requestNumber = 0;
  /** Messages the open requests may still bring, all together; 0 once every request ended. */
  #owed = 0;
  /**
   * Requests that may be open, by number: what each asked for and when. Forgotten once ended by a
   * status (so a status is counted once), or {@link LOST_AFTER_MS} after they were sent, when they
   * surely ended (fulfilled requests get no answer).
   */
  readonly #open = new Map<number, PullRequest>();
  /** Last time the server answered while messages were owed (a message, a status), or a request was sent. */
  #heardAt = 0;
  /** Called when the last open request ends, while closing. */
  #onRequestEnd: (() => void) | undefined;
  /** Free slots that make a request worth sending while others are open. */
  readonly #topUp: number;
  readonly #progressTimer: NodeJS.Timeout;
  readonly #watchdog: NodeJS.Timeout;
  #pause: NodeJS.Timeout | undefined;

  constructor(env: SubscriptionEnvironment, spec: SubscriptionSpec, onDelivery: (delivery: Delivery) => void) {
    this.#env = env;
    this.#spec = spec;
    this.#onDelivery = onDelivery;
    this.#inbox = createInbox();
    this.#pullPrefix = `{"expires":${EXPIRES_MS * 1_000_000},"batch":`;
    this.#topUp = Math.ceil(spec.concurrency / 2);
    this.#inboxSubscription = env.nc.subscribe(`${this.#inbox}.*`, {
      callback: (error, msg) => (error === null ? this.#receive(msg) : this.warn('pull subscription failed', error)),
    });
    this.#progressTimer = setInterval(() => this.#progress(), Math.max(50, Math.floor(env.ackWaitMs / 3)));
    this.#progressTimer.unref();
    this.#watchdog = setInterval(() => this.#checkRequest(), 1_000);
    this.#watchdog.unref();
    this.#pull();
  }

  /** Deliveries not settled yet (handed to core or held). */
  get unsettled(): number {
    return this.#inFlight.size + this.#waiting.length;
  }

  /** Stops pulling. Deliveries already handed out can still be settled; any that arrive now are held until close. */
  stop(): Promise<void> {
    this.#active = false;
    clearTimeout(this.#pause);
    this.#pause = undefined;
    return Promise.resolve();
  }

  /**
   * Stops, waits for the open pull request to end (at most its 2 s expiry), then hands every
   * unsettled delivery back (`-NAK`), so the server redelivers it at once to another instance or
   * the next start. Waiting matters: NATS 2.9 mishandles a redelivery when the only pull request
   * waiting on the consumer belongs to a subscriber that has gone (it skips the message until
   * AckWait and re-sends another one as new).
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    await this.stop();
    if (this.#owed > 0 && !this.#env.nc.isClosed()) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, LOST_AFTER_MS);
        this.#onRequestEnd = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.#onRequestEnd = undefined;
    clearInterval(this.#watchdog);
    clearInterval(this.#progressTimer);
    try {
      this.#inboxSubscription.unsubscribe();
    } catch {
      // Connection already closed.
    }
    for (const delivery of [...this.#inFlight, ...this.#waiting.splice(0)]) delivery.handBack();
    this.#env.closed(this);
  }

  /** The connection came back: the open pull requests died with the old one (or with the server); ask again. */
  renew(): void {
    this.#endRequests();
    this.#pull();
  }

  released(delivery: NatsDelivery): void {
    if (!this.#inFlight.delete(delivery)) {
      const index = this.#waiting.indexOf(delivery);
      if (index !== -1) this.#waiting.splice(index, 1);
    }
    if (this.#active && this.#waiting.length > 0 && this.#inFlight.size < this.#spec.concurrency) {
      const next = this.#waiting.shift()!;
      this.#inFlight.add(next);
      queueMicrotask(() => this.#onDelivery(next));
    }
    this.#pull();
  }

  storeDeadLetter(delivery: NatsDelivery, message: WireMessage): Promise<void> {
    return this.#env.storeDeadLetter(delivery, message);
  }

  warn(message: string, error: unknown): void {
    this.#env.logger.warn(`nats transport: ${message}`, {
      subscription: this.#spec.name,
      error: error instanceof Error ? error.message : String(error),
    });
  }

  /**
   * Opens a pull request for the slots neither taken nor already asked for: any, when no request
   * is open; else only once they make half the concurrency: enough to keep a request waiting on the
   * server, without a request per message (a quarter, as `consume()` does, measured worse: more
   * requests for the server to share messages among).
   */
  #pull(): void {
    if (!this.#active || this.#pause !== undefined) return;
    const free = this.#spec.concurrency - this.#inFlight.size - this.#waiting.length - this.#owed;
    if (free <= 0 || (this.#owed > 0 && free < this.#topUp)) return;
    const nc = this.#env.nc;
    if (nc.isClosed() || nc.isDraining()) return;
    const number = ++this.#requestNumber;
    if (this.#owed === 0) this.#heardAt = Date.now();
    this.#owed += free;
    this.#open.set(number, new PullRequest(free, Date.now()));
    try {
      nc.publish(this.#env.pullSubject, `${this.#pullPrefix}${free}}`, { reply: `${this.#inbox}.${number}` });
    } catch (error) {
      this.#endRequest(number, free);
      this.warn('pull request failed', error);
    }
  }

  /** Request `number` ended owing `remaining` messages. */
  #endRequest(number: number, remaining: number): void {
    this.#open.delete(number);
    this.#owed = Math.max(0, this.#owed - remaining);
    if (this.#owed === 0) this.#endRequests();
  }

  /** Every request ended (fulfilled, expired, or lost). */
  #endRequests(): void {
    this.#owed = 0;
    this.#open.clear();
    this.#onRequestEnd?.();
  }

  #receive(msg: Msg): void {
    const reply = msg.reply;
    if (reply === undefined || !reply.startsWith('$JS.ACK.')) {
      this.#status(msg);
      return;
    }
    if (this.#owed > 0) {
      this.#heardAt = Date.now();
      if (--this.#owed === 0) this.#endRequests();
    }
    const delivery = this.#delivery(msg, reply);
    if (this.#active && this.#inFlight.size < this.#spec.concurrency) {
      this.#inFlight.add(delivery);
      this.#onDelivery(delivery);
    } else {
      this.#waiting.push(delivery);
    }
    this.#pull();
  }

  /**
   * A status message on a pull request: 408 expired, 409 refused or ended, 404 nothing (no_wait),
   * 100 heartbeat. An ending request's `Nats-Pending-Messages` says how many it still owed (the
   * server shares messages out among open requests in turn, so which request a message answered
   * is not known here; only the total owed is).
   */
  #status(msg: Msg): void {
    const number = Number(msg.subject.slice(this.#inbox.length + 1));
    const request = this.#open.get(number);
    if (request === undefined) return; // about a request from before a renewal, or already counted as ended
    const headers = msg.headers;
    const code = headers?.code ?? 0;
    if (code === 100) return;
    this.#heardAt = Date.now();
    const pending = Number(headers?.get('Nats-Pending-Messages') || Number.NaN);
    this.#endRequest(number, pending >= 0 ? Math.min(pending, request.batch) : request.batch);
    if (code === 408 || code === 404) {
      this.#pull();
      return;
    }
    this.#env.logger.debug(`nats transport: pull request ended: ${code} ${msg.headers?.description ?? ''}`, { subscription: this.#spec.name });
    if (!this.#active) return;
    this.#pause = setTimeout(() => {
      this.#pause = undefined;
      this.#pull();
    }, REFUSED_PAUSE_MS);
    this.#pause.unref();
  }

  #delivery(msg: Msg, reply: string): NatsDelivery {
    // $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<timestamp ns>.<pending>
    // or, from newer servers, $JS.ACK.<domain>.<account hash>.<stream>.<consumer>.<delivered>...
    const tokens = reply.split('.');
    const at = tokens.length === 9 ? 4 : 6;
    const attempt = Number(tokens[at]);
    const sequence = Number(tokens[at + 1]);
    const firstAttemptAt = Math.floor(Number(tokens[at + 3]) / 1_000_000);
    return new NatsDelivery(msg, readNatsMessage(msg), attempt, firstAttemptAt, sequence, this);
  }

  #progress(): void {
    for (const delivery of this.#inFlight) delivery.progress();
    for (const delivery of this.#waiting) delivery.progress();
  }

  #checkRequest(): void {
    const ended = Date.now() - LOST_AFTER_MS;
    for (const [number, request] of this.#open) {
      if (request.sentAt >= ended) break;
      this.#open.delete(number);
    }
    if (this.#owed > 0 && Date.now() - this.#heardAt > LOST_AFTER_MS) {
      this.#env.logger.debug(`nats transport: no answer to the pull requests for ${LOST_AFTER_MS} ms, taken as lost`, { subscription: this.#spec.name });
      this.renew();
    }
  }
}

import { DeliveryLostError, SETTLED, type Delivery, type WireMessage } from '@cloudbus/core/transport';
import type { Msg } from '@nats-io/transport-node';

const ACK = Uint8Array.of(0x2b, 0x41, 0x43, 0x4b); // +ACK
const NAK = Uint8Array.of(0x2d, 0x4e, 0x41, 0x4b); // -NAK
const WPI = Uint8Array.of(0x2b, 0x57, 0x50, 0x49); // +WPI
const TERM = Uint8Array.of(0x2b, 0x54, 0x45, 0x52, 0x4d); // +TERM
const encoder = new TextEncoder();

/** What a delivery needs from its subscription. */
export interface DeliveryOwner {
  /** Called once when the delivery is settled (or handed back), to free its slot. */
  released(delivery: NatsDelivery): void;
  /** Stores a dead letter durably; resolves once JetStream acknowledged it. */
  storeDeadLetter(delivery: NatsDelivery, message: WireMessage): Promise<void>;
  /** Reports a failure that cannot be thrown to anyone. */
  warn(message: string, error: unknown): void;
}

/** Pending: with the handler. Dead-lettering: dead letter being stored. Done: settled, or handed back. */
type DeliveryState = 0 | 1 | 2;
const PENDING = 0;
const DEAD_LETTERING = 1;
const DONE = 2;

/**
 * A JetStream message handed to core, settled with the JetStream acknowledgement protocol on its
 * reply subject (`+ACK`, `-NAK {"delay":ns}`, `+WPI`, `+TERM`). Reply subject metadata gives the
 * delivery count (`attempt`), the stream sequence and the stream timestamp (`firstAttemptAt`).
 * `ack` and `nack` complete on return (a publish on the connection, no answer awaited): they
 * return core's {@link SETTLED}, so core waits for nothing.
 */
export class NatsDelivery implements Delivery {
  #state: DeliveryState = PENDING;

  constructor(
    readonly msg: Msg,
    readonly message: WireMessage,
    readonly attempt: number,
    readonly firstAttemptAt: number,
    readonly streamSequence: number,
    readonly owner: DeliveryOwner,
  ) {}

  /** The subject the message was published to. */
  get destination(): string {
    return this.msg.subject;
  }

  /** True until the delivery is acked, nacked, dead-lettered or handed back. */
  get unsettled(): boolean {
    return this.#state !== DONE;
  }

  ack(): Promise<void> {
    if (this.#state !== PENDING) return SETTLED;
    return this.#settle(ACK);
  }

  nack(delayMs: number): Promise<void> {
    if (this.#state !== PENDING) return SETTLED;
    const delay = Math.max(0, Math.round(delayMs));
    return this.#settle(delay === 0 ? NAK : encoder.encode(`-NAK {"delay":${delay * 1_000_000}}`));
  }

  async deadLetter(message: WireMessage): Promise<void> {
    if (this.#state !== PENDING) return;
    this.#state = DEAD_LETTERING;
    try {
      await this.owner.storeDeadLetter(this, message);
    } catch (error) {
      // Not stored: hand the message back (after a pause, not to spin on a broken dead-letter stream).
      this.#state = PENDING;
      this.#settle(encoder.encode(`-NAK {"delay":1000000000}`)).catch(() => {});
      throw error;
    }
    this.#state = PENDING;
    await this.#settle(TERM);
  }

  /** Tells the server the handler is still working, so AckWait starts again. */
  progress(): void {
    if (this.#state === DONE) return;
    try {
      this.msg.respond(WPI);
    } catch {
      // Connection closed or reconnecting: the next tick (or a redelivery) covers it.
    }
  }

  /** Hands the message back at once (`-NAK`, no delay), unless a dead letter is being stored for it. */
  handBack(): void {
    if (this.#state !== PENDING) return;
    this.#settle(NAK).catch((error: unknown) => this.owner.warn('handing a delivery back failed; the server redelivers it after AckWait', error));
  }

  #settle(payload: Uint8Array): Promise<void> {
    this.#state = DONE;
    this.owner.released(this);
    try {
      this.msg.respond(payload);
    } catch (error) {
      return Promise.reject(new DeliveryLostError(`nats transport: cannot settle the delivery, the connection is closed; the server redelivers it after AckWait.`, { cause: error }));
    }
    return SETTLED;
  }
}

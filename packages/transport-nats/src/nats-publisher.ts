import { PublishError, type Logger } from '@cloudbus/core/transport';
import { createInbox, type Msg, type NatsConnection, type Subscription as NatsInbox } from '@nats-io/transport-node';

import type { EncodedHeaders } from './nats-binding.js';

/** One message of a batch: its subject, its headers block already encoded (see {@link EncodedHeaders}), its body. */
export interface OutgoingNatsMessage {
  /** The CloudEvent id, also the `Nats-Msg-Id` inside `headers`: named in errors and logs. */
  readonly id: string;
  readonly subject: string;
  readonly headers: EncodedHeaders;
  readonly body: Uint8Array;
}

/** Why JetStream did not store one message. */
export class JetStreamRefusal extends Error {
  override name = 'JetStreamRefusal';
}

interface JetStreamAnswer {
  readonly stream?: string;
  readonly duplicate?: boolean;
  readonly error?: { readonly code?: number; readonly err_code?: number; readonly description?: string };
}

/** Confirmation state of one `publish` call. */
class Batch {
  /** Per message: 0 unanswered, 1 stored (or dropped as a duplicate), 2 refused. */
  readonly answers: Uint8Array;
  unanswered: number;
  firstError: Error | undefined;
  timer: NodeJS.Timeout | undefined;

  constructor(
    readonly messages: readonly OutgoingNatsMessage[],
    readonly resolve: () => void,
    readonly reject: (error: PublishError) => void,
  ) {
    this.answers = new Uint8Array(messages.length);
    this.unanswered = messages.length;
  }
}

/** Settings of a {@link NatsPublisher}. */
export interface NatsPublisherOptions {
  /** The stream every message must land in (only named in messages: `Nats-Expected-Stream` is in the headers). */
  readonly stream: string;
  /** Longest wait for every acknowledgement of a batch, in ms. */
  readonly timeoutMs: number;
  readonly logger: Logger;
  /** Called for each publish the stream dropped as a duplicate (same `Nats-Msg-Id` in its window). */
  onDuplicate(id: string): void;
}

/**
 * Acknowledged JetStream publishes without a request per message: every message is a plain
 * publish whose reply subject is `<inbox>.<batch>.<index>` on one subscription per publisher, and
 * JetStream's answer (a PubAck, an API error, or a 503 "no responders" status) is matched back by
 * that token. A batch resolves once JetStream stored (or de-duplicated) every message, and rejects
 * with a {@link PublishError} naming every id not stored as soon as all answered or after
 * `timeoutMs`, whichever comes first. After a reconnection, what is still unanswered is sent again
 * ({@link resendUnanswered}).
 */
export class NatsPublisher {
  readonly #nc: NatsConnection;
  readonly #options: NatsPublisherOptions;
  readonly #inbox: string;
  readonly #tokenStart: number;
  readonly #subscription: NatsInbox;
  readonly #batches = new Map<number, Batch>();
  #nextBatch = 0;

  constructor(nc: NatsConnection, options: NatsPublisherOptions) {
    this.#nc = nc;
    this.#options = options;
    this.#inbox = createInbox();
    this.#tokenStart = this.#inbox.length + 1;
    this.#subscription = nc.subscribe(`${this.#inbox}.>`, {
      callback: (error, msg) => {
        if (error === null) this.#receive(msg);
        else options.logger.warn('nats transport: publish acknowledgement subscription failed', { error: error.message });
      },
    });
  }

  /** Publishes the batch; resolves once JetStream confirmed every message (see the class comment). */
  publish(messages: readonly OutgoingNatsMessage[]): Promise<void> {
    if (messages.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const id = this.#nextBatch++;
      const batch = new Batch(messages, resolve, reject);
      this.#batches.set(id, batch);
      batch.timer = setTimeout(() => {
        batch.firstError ??= new JetStreamRefusal(`no acknowledgement within ${this.#options.timeoutMs} ms (timeout)`);
        batch.unanswered = 0;
        this.#finish(id, batch);
      }, this.#options.timeoutMs);
      const prefix = `${this.#inbox}.${id}.`;
      const nc = this.#nc;
      for (let i = 0; i < messages.length; i++) {
        const message = messages[i]!;
        try {
          nc.publish(message.subject, message.body, { reply: prefix + i, headers: message.headers });
        } catch (error) {
          // Closed or draining connection: nothing from here on was sent.
          for (let j = i; j < messages.length; j++) this.#answer(batch, j, 2, error instanceof Error ? error : new JetStreamRefusal(String(error)));
          this.#finish(id, batch);
          return;
        }
      }
    });
  }

  /**
   * Sends again, on a connection that came back, every message JetStream has not answered yet:
   * the publish or its acknowledgement may have been lost with the old connection. Same
   * `Nats-Msg-Id` and reply token, so the stream drops a copy it stored already and the first answer
   * counts; the batch keeps its deadline.
   */
  resendUnanswered(): number {
    let sent = 0;
    for (const [id, batch] of this.#batches) {
      const prefix = `${this.#inbox}.${id}.`;
      for (let i = 0; i < batch.messages.length; i++) {
        if (batch.answers[i] !== 0) continue;
        const message = batch.messages[i]!;
        try {
          this.#nc.publish(message.subject, message.body, { reply: prefix + i, headers: message.headers });
          sent++;
        } catch {
          // Closed again: the next reconnection sends it, or the batch times out.
          return sent;
        }
      }
    }
    return sent;
  }

  /** Fails every batch still waiting (the connection is going away) and stops listening for acknowledgements. */
  close(reason: Error): void {
    for (const [id, batch] of this.#batches) {
      batch.firstError ??= reason;
      batch.unanswered = 0;
      this.#finish(id, batch);
    }
    try {
      this.#subscription.unsubscribe();
    } catch {
      // Connection already closed.
    }
  }

  #receive(msg: Msg): void {
    const token = msg.subject;
    const dot = token.indexOf('.', this.#tokenStart);
    if (dot === -1) return;
    const id = Number(token.slice(this.#tokenStart, dot));
    const batch = this.#batches.get(id);
    if (batch === undefined) return; // answered after its batch timed out
    const index = Number(token.slice(dot + 1));
    if (!(index >= 0 && index < batch.answers.length) || batch.answers[index] !== 0) return;
    const message = batch.messages[index]!;
    const refusal = this.#refusal(msg, message);
    if (refusal === undefined) this.#answer(batch, index, 1, undefined);
    else this.#answer(batch, index, 2, refusal);
    if (batch.unanswered === 0) this.#finish(id, batch);
  }

  /** Undefined when JetStream stored the message (or dropped it as a duplicate); else why it did not. */
  #refusal(msg: Msg, message: OutgoingNatsMessage): Error | undefined {
    const data = msg.data;
    if (data.length === 0) {
      const code = msg.headers?.code ?? 0;
      if (code === 503) {
        return new JetStreamRefusal(
          `no stream captures subject '${message.subject}' (no responders): the stream '${this.#options.stream}' was deleted (connect a new transport to create it again), or JetStream is not enabled or not ready yet after a server restart`,
        );
      }
      return new JetStreamRefusal(`unexpected answer ${code} ${msg.headers?.description ?? ''}`.trimEnd());
    }
    let answer: JetStreamAnswer;
    try {
      answer = msg.json<JetStreamAnswer>();
    } catch {
      return new JetStreamRefusal('JetStream answered with something that is not JSON');
    }
    const error = answer.error;
    if (error !== undefined) {
      return new JetStreamRefusal(`JetStream refused it: ${error.description ?? 'no description'} (code ${error.code ?? '?'}, err_code ${error.err_code ?? '?'})`);
    }
    if (answer.duplicate === true) {
      this.#options.onDuplicate(message.id);
      this.#options.logger.debug('nats transport: duplicate publish dropped by the stream', { eventId: message.id, stream: answer.stream });
    }
    return undefined;
  }

  #answer(batch: Batch, index: number, answer: 1 | 2, error: Error | undefined): void {
    if (batch.answers[index] !== 0) return;
    batch.answers[index] = answer;
    batch.unanswered--;
    if (error !== undefined) batch.firstError ??= error;
  }

  #finish(id: number, batch: Batch): void {
    if (batch.unanswered > 0 || !this.#batches.delete(id)) return;
    clearTimeout(batch.timer);
    if (batch.firstError === undefined) {
      batch.resolve();
      return;
    }
    const unconfirmed: string[] = [];
    for (let i = 0; i < batch.answers.length; i++) if (batch.answers[i] !== 1) unconfirmed.push(batch.messages[i]!.id);
    batch.reject(
      new PublishError(
        `nats transport: JetStream did not confirm ${unconfirmed.length} of ${batch.messages.length} events: ${batch.firstError.message}. ` +
          `Publish them again: the stream drops any it already stored (same id within the duplicate window).`,
        unconfirmed,
        { cause: batch.firstError },
      ),
    );
  }
}

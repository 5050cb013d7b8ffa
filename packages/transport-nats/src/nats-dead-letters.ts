import type { StoredDeadLetter, WireMessage } from '@cloudbus/core/transport';
import { JetStreamApiError, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';

import { readWireMessage, writeHeaders } from './nats-binding.js';
import type { NatsDelivery } from './nats-delivery.js';
import type { ResolvedNatsOptions } from './nats-transport-options.js';
import { deadLetterSubject } from './subject-naming.js';

/** Dead letters fetched at once by `read`. */
const READ_CHUNK = 256;

/**
 * The dead-letter stream: a dead letter of a message published to subject `s` is stored under
 * `<deadLetterSubjectPrefix>.<s>`, once per message and consumer. Read incrementally (messages in
 * a stream never change), removed by stream sequence.
 */
export class NatsDeadLetters {
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #options: ResolvedNatsOptions;
  /** Dead letters read so far, by stream sequence. */
  readonly #letters = new Map<number, StoredDeadLetter>();
  #read = 0;

  constructor(js: JetStreamClient, jsm: JetStreamManager, options: ResolvedNatsOptions) {
    this.#js = js;
    this.#jsm = jsm;
    this.#options = options;
  }

  /** Stores the dead letter of a delivery of the durable consumer `durable`; resolves once JetStream acknowledged it. */
  async store(delivery: NatsDelivery, message: WireMessage, durable: string): Promise<void> {
    const options = this.#options;
    const headers = natsHeaders();
    writeHeaders(message, headers);
    // One dead letter per message and consumer, even if the original is redelivered after a lost +TERM.
    const id = `${options.stream}.${durable}.${delivery.streamSequence}`;
    await this.#js.publish(deadLetterSubject(options.deadLetterSubjectPrefix, delivery.destination), message.body, {
      msgID: id,
      headers,
      expect: { streamName: options.deadLetterStream },
    });
  }

  /** Dead letters in the dead-letter stream, oldest first (each call fetches only new ones). */
  async read(): Promise<readonly StoredDeadLetter[]> {
    const jsm = this.#jsm;
    const stream = this.#options.deadLetterStream;
    const { state } = await jsm.streams.info(stream);
    for (const sequence of this.#letters.keys()) {
      if (sequence < state.first_seq) this.#letters.delete(sequence);
    }
    const from = Math.max(this.#read + 1, state.first_seq);
    for (let start = from; start <= state.last_seq; start += READ_CHUNK) {
      const end = Math.min(state.last_seq, start + READ_CHUNK - 1);
      const reads = [];
      for (let seq = start; seq <= end; seq++) reads.push(jsm.streams.getMessage(stream, { seq }));
      const stored = await Promise.all(reads);
      for (const message of stored) {
        if (message === null) continue;
        this.#letters.set(message.seq, {
          message: readWireMessage(message.header, message.data),
          destination: message.subject.slice(this.#options.deadLetterSubjectPrefix.length + 1),
        });
      }
      this.#read = end;
    }
    return [...this.#letters.values()];
  }

  /**
   * Removes the dead letters `select` picks, by stream sequence. Every letter is selected first,
   * then the chosen ones are deleted one by one: a failure midway leaves every letter not yet
   * deleted stored. A letter another process deleted meanwhile is not counted.
   * `stillOpen` is checked between reading and deleting (it throws when the transport closed).
   */
  async remove(select: (letter: StoredDeadLetter) => boolean, stillOpen: () => void): Promise<number> {
    await this.read();
    const chosen = [...this.#letters].filter(([, letter]) => select(letter)).map(([sequence]) => sequence);
    stillOpen();
    let removed = 0;
    for (const sequence of chosen) {
      let deleted: boolean;
      try {
        deleted = await this.#jsm.streams.deleteMessage(this.#options.deadLetterStream, sequence, false);
      } catch (error) {
        if (!(error instanceof JetStreamApiError) || !/no message found/i.test(error.message)) throw error;
        deleted = false;
      }
      this.#letters.delete(sequence);
      if (deleted) removed++;
    }
    return removed;
  }
}

import type { StoredDeadLetter } from '@cloudbus/core/transport';

import { PrivateHeaders, toWireMessage } from './rabbitmq-binding.js';
import type { QueueBrowser } from './rabbitmq-queue-browser.js';

/**
 * The dead-letter queue, read without consuming it: each dead letter is fetched unacked, and all
 * are handed back (in their order) when the browse channel closes; removing acks only the chosen
 * ones. A dead letter's `destination` is the routing key its original was published with (the
 * `x-cloudbus-destination` header).
 */
export class RabbitMqDeadLetters {
  readonly #queue: string;
  readonly #browser: QueueBrowser;

  constructor(queue: string, browser: QueueBrowser) {
    this.#queue = queue;
    this.#browser = browser;
  }

  /** Every dead letter, oldest first. */
  async read(): Promise<readonly StoredDeadLetter[]> {
    const letters: StoredDeadLetter[] = [];
    await this.#browse('read dead letters', (letter) => {
      letters.push(letter);
      return false;
    });
    return letters;
  }

  /**
   * Removes the dead letters `select` picks. Nothing is acked before it is selected, so a failure
   * or a crash midway leaves every dead letter not yet removed in the queue. Letters another
   * process is browsing at the same time are out of its sight (it holds them unacked) until it is done.
   */
  async remove(select: (letter: StoredDeadLetter) => boolean): Promise<number> {
    let removed = 0;
    await this.#browse('remove dead letters', (letter) => {
      if (!select(letter)) return false;
      removed++;
      return true;
    });
    return removed;
  }

  #browse(what: string, visit: (letter: StoredDeadLetter) => boolean): Promise<void> {
    return this.#browser.browse(this.#queue, what, (raw) => {
      const headers = raw.properties.headers as Record<string, unknown> | undefined;
      const destination = headers?.[PrivateHeaders.destination];
      return visit({ message: toWireMessage(raw.properties, raw.content), destination: typeof destination === 'string' ? destination : raw.fields.routingKey });
    });
  }
}

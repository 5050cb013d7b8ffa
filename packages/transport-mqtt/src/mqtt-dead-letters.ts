import type { StoredDeadLetter, WireMessage } from '@cloudbus/core/transport';

import { fromStoredMqttMessage } from './mqtt-binding.js';
import type { WirePublisher } from './mqtt-publisher.js';
import type { MqttTopics } from './mqtt-topics.js';
import type { ResolvedMqttOptions } from './mqtt-transport-options.js';
import type { RetainedMessages } from './retained-messages.js';

/**
 * The dead letters under a topic prefix: one retained message each, on a topic of its own,
 * `<prefix>-deadletter/<subscription>/<time>-<id>` (see `MqttTopics.deadLetterTopic`).
 */
export class MqttDeadLetters {
  constructor(
    private readonly options: ResolvedMqttOptions,
    private readonly topics: MqttTopics,
    private readonly retained: RetainedMessages,
    private readonly send: WirePublisher,
  ) {}

  /**
   * The dead letters, oldest first. Reads at most what the broker sends a new subscriber at once
   * (Mosquitto: Receive Maximum plus `max_queued_messages`).
   */
  async read(): Promise<readonly StoredDeadLetter[]> {
    const found = await this.#readTree();
    return [...found.entries()].sort(([a], [b]) => compareByTime(a, b)).map(([, message]) => storedDeadLetter(message));
  }

  /**
   * Removes the dead letters `select` picks: clears the retained message of each chosen one's
   * topic. Every letter is selected first, then the chosen ones are cleared: a failure midway
   * leaves every letter not yet cleared stored. Returns how many were chosen.
   */
  async remove(select: (letter: StoredDeadLetter) => boolean): Promise<number> {
    const found = await this.#readTree();
    const chosen = [...found].filter(([, message]) => select(storedDeadLetter(message))).map(([topic]) => topic);
    const empty: WireMessage = { headers: {}, body: new Uint8Array(0) };
    await Promise.all(chosen.map((topic) => this.send(topic, empty, 'retained')));
    return chosen.length;
  }

  async #readTree(): Promise<Map<string, WireMessage>> {
    const found = await this.retained.read(this.topics.deadLetterFilter(), 'dead letters');
    const letters = new Map<string, WireMessage>();
    for (const [topic, { payload, packet }] of found) letters.set(topic, fromStoredMqttMessage(payload, packet.properties, this.options.protocolVersion));
    return letters;
  }
}

function storedDeadLetter(message: WireMessage): StoredDeadLetter {
  return { message, destination: message.headers['deadlettersource'] ?? '' };
}

/** Dead-letter topics end with a 13-digit time: sort on that level, then on the whole topic. */
function compareByTime(a: string, b: string): number {
  const timeA = a.slice(a.lastIndexOf('/') + 1);
  const timeB = b.slice(b.lastIndexOf('/') + 1);
  return timeA < timeB ? -1 : timeA > timeB ? 1 : a < b ? -1 : a > b ? 1 : 0;
}

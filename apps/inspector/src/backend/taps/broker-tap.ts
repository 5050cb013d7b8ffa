import type { CloudEvent } from '@cloudbus/core';

import type { TappedMessage } from '../captured-message.js';

/** What a tap reports while it is open. */
export interface TapListener {
  /** A message was read. Called on the client library's callback: keep it quick. */
  message(tapped: TappedMessage): void;
  /** The connection was lost or refused; the tap is closed. */
  failed(error: Error): void;
}

/**
 * A read-only tap on one broker: it reads a copy of every event and dead letter without taking
 * anything from the application's subscriptions, and it can publish an event (test events and
 * dead-letter replays) the way a cloudbus transport would.
 */
export interface BrokerTap {
  /** Connects and starts reading. Rejects when the broker cannot be reached. */
  open(listener: TapListener): Promise<void>;
  /**
   * Publishes a CloudEvent in binary mode. `destination` is where the original was published
   * (a dead letter's routing key / subject / topic); by default it derives from the event type.
   */
  publish(event: CloudEvent, destination?: string): Promise<void>;
  /** Stops reading and disconnects; the broker removes what the tap created. */
  close(): Promise<void>;
}

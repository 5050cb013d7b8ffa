import { checkMessageSize, PublishError, TransportClosedError, type OutgoingMessage, type WireMessage } from '@cloudbus/core/transport';
import type { IClientPublishOptions, MqttClient } from 'mqtt';

import { hasHeaders, toMqttPayload, toMqttProperties } from './mqtt-binding.js';
import type { MqttTopics } from './mqtt-topics.js';
import type { ResolvedMqttOptions } from './mqtt-transport-options.js';
import { PendingPublish, type PublishContext } from './pending-publish.js';
import { BatchDeadlines, PublishBatch, SinglePublish, type PublishOutcome } from './publish-batch.js';
import { PublishWindow } from './publish-window.js';
import { SubscriberTopics } from './subscriber-topics.js';

/**
 * What a publish is, which decides how its PUBACK is read (MQTT 5 reason code 16, "No matching
 * subscribers"): `event`, an event to its type's topic (lost if that topic had subscribers before:
 * published again until one is back); `redelivery`, a retry to a subscription's own redelivery topic
 * (always has a subscriber, so 16 means lost: published again); `retained`, a dead letter or its
 * deletion (the broker keeps a retained message with or without subscribers).
 */
export type PublishKind = 'event' | 'redelivery' | 'retained';

/** How a subscription publishes (redeliveries, dead letters): resolves once the broker has stored the message. */
export type WirePublisher = (topic: string, message: WireMessage, kind: PublishKind) => Promise<void>;

const QOS1: IClientPublishOptions = { qos: 1 };
const QOS1_RETAINED: IClientPublishOptions = { qos: 1, retain: true };

/**
 * The publishing side of a transport, on its one publishing connection (clean session): every
 * message at QoS 1, at most `publishWindow` awaiting their PUBACK at once, each batch resolved once
 * every message of it has its PUBACK (see {@link PublishBatch}). Events go to their type's topic;
 * subscriptions send their redeliveries and dead letters through {@link send}.
 */
export class MqttPublisher {
  readonly #window: PublishWindow;
  readonly #subscribers: SubscriberTopics;
  readonly #deadlines = new BatchDeadlines();
  readonly #plainOptions = new Map<string, IClientPublishOptions>();
  readonly #retainedOptions = new Map<string, IClientPublishOptions>();
  /** Options of a retained publish (a dead letter, or its deletion). */
  readonly #retained: IClientPublishOptions;
  #context: PublishContext | undefined;
  /** Usable: from {@link attach} until {@link detach} (subscriptions hand messages back through it while closing). */
  #open = false;

  constructor(
    private readonly options: ResolvedMqttOptions,
    private readonly topics: MqttTopics,
  ) {
    // Dead letters (retained) expire after deadLetterExpirySeconds, where MQTT 5 can say so.
    const expiry = options.protocolVersion === 5 && options.deadLetterExpirySeconds > 0 ? options.deadLetterExpirySeconds : undefined;
    this.#retained = expiry === undefined ? QOS1_RETAINED : { ...QOS1_RETAINED, properties: { messageExpiryInterval: expiry } };
    this.#window = new PublishWindow(options.publishWindow);
    this.#subscribers = new SubscriberTopics(options.protocolVersion === 5);
  }

  /** Starts publishing on `client`, the transport's publishing connection. */
  attach(client: MqttClient): void {
    this.#subscribers.watch(client);
    this.#context = {
      client,
      window: this.#window,
      subscribers: this.#subscribers,
      publishTimeoutMs: this.options.publishTimeoutMs,
      isClosed: () => !this.#open,
    };
    this.#open = true;
  }

  /** Stops publishing: what is still sent or published again fails with `TransportClosedError`. */
  detach(): void {
    this.#open = false;
  }

  /** A topic this transport subscribes to has a subscriber (itself) from now on. */
  subscribed(topic: string): void {
    this.#subscribers.subscribed(topic);
  }

  /** Publishes one batch of events; see `MqttTransport.publish`. */
  publish(messages: readonly OutgoingMessage[]): Promise<void> {
    const limit = this.options.maxMessageBytes;
    try {
      for (const outgoing of messages) checkMessageSize(outgoing, limit);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    const count = messages.length;
    if (count === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const batch = new PublishBatch(messages, this.options.publishTimeoutMs, resolve, reject, this.#batchFinished);
      this.#deadlines.add(batch);
      for (let i = 0; i < count; i++) {
        const outgoing = messages[i]!;
        this.#dispatch(this.topics.forType(outgoing.type), outgoing.message, 'event', batch, i);
      }
    });
  }

  readonly #batchFinished = (): void => this.#deadlines.finished();

  /**
   * Publishes one wire message at QoS 1 within the publish window; resolves once the broker stored it:
   * on its PUBACK, unless that says "No matching subscribers" for a topic that must have one (see
   * {@link PublishKind}), in which case it is published again after a short backoff.
   */
  readonly send: WirePublisher = (topic, message, kind) =>
    new Promise<void>((resolve, reject) => this.#dispatch(topic, message, kind, new SinglePublish(resolve, reject), 0));

  /** Sends message `index` of `outcome` now if the window has room, else once it has. */
  #dispatch(topic: string, message: WireMessage, kind: PublishKind, outcome: PublishOutcome, index: number): void {
    if (this.#window.tryAcquire()) {
      this.#publishNow(topic, message, kind, outcome, index);
      return;
    }
    void this.#window.wait().then(() => {
      if (outcome.abandoned) {
        this.#window.release();
        outcome.failed(index, new PublishError('mqtt transport: not sent, its batch timed out.', []));
        return;
      }
      this.#publishNow(topic, message, kind, outcome, index);
    });
  }

  #publishNow(topic: string, message: WireMessage, kind: PublishKind, outcome: PublishOutcome, index: number): void {
    const context = this.#context;
    if (context === undefined || !this.#open) {
      this.#window.release();
      outcome.failed(index, new TransportClosedError('mqtt transport: closed.'));
      return;
    }
    const retain = kind === 'retained';
    let options: IClientPublishOptions = retain ? this.#retained : QOS1;
    const version = this.options.protocolVersion;
    if (version === 5) {
      if (hasHeaders(message)) {
        const properties = toMqttProperties(message)!;
        if (retain && this.options.deadLetterExpirySeconds > 0) properties.messageExpiryInterval = this.options.deadLetterExpirySeconds;
        options = { qos: 1, retain, properties };
      } else if (message.contentType !== undefined) {
        // Structured mode: the same few content types over and over, so their options are made once.
        options = this.#contentTypeOptions(message.contentType, retain);
      }
    }
    new PendingPublish(context, topic, toMqttPayload(message, version), options, kind, outcome, index).send();
  }

  /** Publish options carrying only a Content Type (mqtt.js copies them and does not change `properties`). */
  #contentTypeOptions(contentType: string, retain: boolean): IClientPublishOptions {
    const cache = retain ? this.#retainedOptions : this.#plainOptions;
    let options = cache.get(contentType);
    if (options === undefined) {
      options = { qos: 1, retain, properties: { contentType, ...(retain ? this.#retained.properties : {}) } };
      if (cache.size < 64) cache.set(contentType, options);
    }
    return options;
  }
}

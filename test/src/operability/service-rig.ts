import { connect as connectNats } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect as connectAmqp } from 'amqplib';

import { EventBus, type HandlerClass } from '@cloudbus/core';
import { recordingLogger, type RecordingLogger } from '@cloudbus/core/testing';

import { uniqueName, type BrokerKind } from '@cloudbus/test/brokers';
import { TcpProxy } from '@cloudbus/test/tcp-proxy';

/** Test support for running buses like services on the real brokers: a recording logger, waiting, per-run names and clean-up. */

export async function eventually<T>(probe: () => T | undefined | false, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export const DEFAULT_PORTS: Record<BrokerKind, number> = { rabbitmq: 5672, nats: 4222, mqtt: 1883 };

/** Options that keep each run's names its own, and reconnections quick. */
export function transportOptions(kind: BrokerKind, run: string): Record<string, unknown> {
  switch (kind) {
    case 'rabbitmq':
      return { exchange: `${run}.events`, deadLetterQueue: `${run}.deadletter`, retryPrefix: `${run}.retry`, queuePrefix: `${run}.`, reconnectMinDelayMs: 100, reconnectMaxDelayMs: 500 };
    case 'nats':
      return { stream: natsName(run), subjectPrefix: `${run}.events`, deadLetterStream: `${natsName(run)}_dl`, deadLetterSubjectPrefix: `${run}.deadletter`, reconnectTimeWaitMs: 200 };
    case 'mqtt':
      return { topicPrefix: run, reconnectMinDelayMs: 100, reconnectMaxDelayMs: 500, sessionExpirySeconds: 60 };
  }
}

function natsName(run: string): string {
  return run.replace(/[^A-Za-z0-9_-]/g, '_');
}

/** Deletes what a run declared on the shared broker (MQTT sessions expire by themselves after 60 s). */
export async function removeTopology(kind: BrokerKind, url: string, run: string, bus: EventBus): Promise<void> {
  if (kind === 'rabbitmq') {
    const declared = (bus.transport as unknown as { declaredTopology(): { exchanges: string[]; queues: string[] } }).declaredTopology();
    const model = await connectAmqp(url);
    model.on('error', () => {});
    for (const [names, remove] of [
      [declared.queues, (channel: Awaited<ReturnType<typeof model.createChannel>>, name: string) => channel.deleteQueue(name)],
      [declared.exchanges, (channel: Awaited<ReturnType<typeof model.createChannel>>, name: string) => channel.deleteExchange(name)],
    ] as const) {
      for (const name of names) {
        const channel = await model.createChannel();
        channel.on('error', () => {});
        await remove(channel, name).catch(() => {});
        await channel.close().catch(() => {});
      }
    }
    await model.close();
  } else if (kind === 'nats') {
    const nc = await connectNats({ servers: new URL(url).host });
    const jsm = await jetstreamManager(nc);
    for (const stream of [natsName(run), `${natsName(run)}_dl`]) await jsm.streams.delete(stream).catch(() => false);
    await nc.close();
  }
}


/** A service's bus on `kind`, through a TCP proxy the test can cut, with a recording logger. */
export interface ProxiedService {
  readonly bus: EventBus;
  readonly proxy: TcpProxy;
  readonly logger: RecordingLogger;
  readonly run: string;
}

/**
 * Creates (does not start) a bus on `kind` behind a proxy, with names of its own; `cleanups` gets
 * what stops it and removes what it declared.
 */
export async function proxiedService(
  kind: BrokerKind,
  url: string,
  cleanups: (() => Promise<void>)[],
  options: { readonly handlers: readonly HandlerClass[]; readonly startTimeoutMs?: number; readonly run?: string },
): Promise<ProxiedService> {
  const run = options.run ?? uniqueName(`ops-${kind}`);
  const { proxy, url: proxied } = await TcpProxy.inFrontOf(url, DEFAULT_PORTS[kind]);
  cleanups.push(() => proxy.cut());
  const logger = recordingLogger();
  const bus = new EventBus({
    service: run,
    transport: kind,
    url: proxied,
    transportOptions: transportOptions(kind, run),
    handlers: options.handlers,
    logger,
    startTimeoutMs: options.startTimeoutMs ?? 30_000,
  });
  cleanups.push(async () => {
    const started = bus.health().transport.connection !== 'unknown';
    await bus.stop();
    if (started) await removeTopology(kind, url, run, bus);
  });
  return { bus, proxy, logger, run };
}

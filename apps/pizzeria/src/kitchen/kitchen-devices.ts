import { hostname } from 'node:os';

import { ConfigurationError, EventBus, type Logger, type TelemetryPublishingOptions, type Transport } from '@cloudbus/core';

import { KitchenDisplay } from './kitchen-display.js';
import { Oven } from './oven.js';

/** Options of {@link startKitchenDevices}. */
export interface KitchenDevicesOptions {
  /**
   * The kitchen transport: a name or an instance.
   * @default 'mqtt'
   */
  readonly transport?: string | Transport;
  /** Broker URL. @default the transport's default (mqtt://localhost:1883) */
  readonly url?: string | undefined;
  /** Passed to the transport (e.g. a topic prefix). @default {} */
  readonly transportOptions?: Readonly<Record<string, unknown>>;
  /**
   * Service name of the devices: device processes with the same name share the tickets.
   * @default 'kitchen-devices'
   */
  readonly service?: string;
  /**
   * How long an order bakes, in ms.
   * @default 3_000
   */
  readonly bakeTimeMs?: number;
  /**
   * Ovens in this process: orders baking at once.
   * @default 4
   */
  readonly ovens?: number;
  /**
   * Runs a kitchen display too (showing the open tickets through `onReport`). Each display has
   * its own subscriptions, named after `displayId`, so every display sees every ticket.
   * @default false
   */
  readonly display?: boolean;
  /**
   * Names this display's subscriptions: keep it stable across restarts (a new one leaves the old
   * subscriptions behind on the broker).
   * @default the host name
   */
  readonly displayId?: string;
  /** Where each device prints what it does. @default nothing */
  readonly onReport?: (line: string) => void;
  /**
   * Publish the devices' telemetry (`dev.cloudbus.telemetry`) for the inspector.
   * @default on when CLOUDBUS_TELEMETRY=1, else off
   */
  readonly publishTelemetry?: boolean | TelemetryPublishingOptions;
  /** @default the bus's console logger */
  readonly logger?: Logger;
}

/** Running kitchen devices. */
export interface KitchenDevices {
  /** The ovens' bus. */
  readonly bus: EventBus;
  /** The display, when one runs. */
  readonly display: KitchenDisplay | undefined;
  /** Ovens in this process: orders baking at once. */
  readonly ovens: number;
  stop(): Promise<void>;
}

/**
 * Starts simulated kitchen devices (ovens) on their own bus: they take the tickets the pizzeria
 * queues and report cooking started and ready. Runs in the pizzeria's process on the embedded
 * default, or as a separate process (`pnpm kitchen`) speaking MQTT, like a real in-store device.
 */
export async function startKitchenDevices(options: KitchenDevicesOptions = {}): Promise<KitchenDevices> {
  const bakeTimeMs = options.bakeTimeMs ?? 3_000;
  if (!Number.isFinite(bakeTimeMs) || bakeTimeMs < 0) throw new ConfigurationError(`kitchen devices: bakeTimeMs must be >= 0, got ${String(options.bakeTimeMs)}.`);
  const oven = new Oven(bakeTimeMs, options.onReport);
  const telemetry = options.publishTelemetry === undefined ? {} : { publishTelemetry: options.publishTelemetry };
  const bus = new EventBus(
    {
      service: options.service ?? 'kitchen-devices',
      transport: options.transport ?? 'mqtt',
      ...(options.url === undefined ? {} : { url: options.url }),
      transportOptions: options.transportOptions ?? {},
      handlers: [Oven],
      concurrency: options.ovens ?? 4,
      drainTimeoutMs: bakeTimeMs + 2_000,
      ...telemetry,
      ...(options.logger === undefined ? {} : { logger: options.logger }),
    },
    () => oven,
  );
  let displayBus: EventBus | undefined;
  let display: KitchenDisplay | undefined;
  if (options.display === true) {
    const shown = new KitchenDisplay(options.onReport);
    display = shown;
    // A service of its own: every display sees every ticket, while ovens compete for them.
    displayBus = new EventBus(
      {
        service: `${options.service ?? 'kitchen-devices'}-display-${(options.displayId ?? hostname()).replace(/[^A-Za-z0-9_-]/g, '_')}`,
        transport: options.transport ?? 'mqtt',
        ...(options.url === undefined ? {} : { url: options.url }),
        transportOptions: options.transportOptions ?? {},
        handlers: [KitchenDisplay],
        ...telemetry,
        ...(options.logger === undefined ? {} : { logger: options.logger }),
      },
      () => shown,
    );
  }
  await bus.start();
  try {
    await displayBus?.start();
  } catch (error) {
    await bus.stop();
    throw error;
  }
  return {
    bus,
    display,
    ovens: options.ovens ?? 4,
    stop: async () => {
      await displayBus?.stop();
      await bus.stop();
    },
  };
}

import type { Transport } from '@cloudbus/core';

/** The transport packages the pizzeria depends on, imported (which registers them) only when used. */
const PACKAGES: Readonly<Record<string, () => Promise<unknown>>> = {
  rabbitmq: () => import('@cloudbus/transport-rabbitmq'),
  nats: () => import('@cloudbus/transport-nats'),
  mqtt: () => import('@cloudbus/transport-mqtt'),
};

/**
 * Registers the transport named `transport` by importing its package from here, where it is a
 * dependency: core's own lookup resolves packages from itself and the working directory, which
 * does not see them when the app is started from elsewhere (`node apps/pizzeria/dist/main.js`).
 * Unknown names are left to core, which reports them.
 */
export async function loadTransport(transport: string | Transport): Promise<void> {
  if (typeof transport !== 'string') return;
  await PACKAGES[transport]?.();
}

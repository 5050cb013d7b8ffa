/**
 * Simulated in-store kitchen devices, as a separate process speaking MQTT (or another transport):
 * `pnpm kitchen [-- --url mqtt://localhost:1883 --bake-time 3000 --ovens 4]`. Run several to
 * add ovens; they share the tickets with each other and with in-process devices.
 */
import { parseArgs } from 'node:util';

import { ConfigurationError } from '@cloudbus/core';

import { jsonObject } from '../app/pizzeria-config.js';
import { startKitchenDevices } from './kitchen-devices.js';

const USAGE = `Mario's kitchen devices (simulated ovens)

  pnpm kitchen [-- options]

  --transport <name>   transport of kitchen events (default mqtt)          env CLOUDBUS_KITCHEN_TRANSPORT
  --url <url>          broker URL (default mqtt://localhost:1883)          env CLOUDBUS_KITCHEN_URL
  --bake-time <ms>     how long a pizza bakes (default 3000)
  --ovens <n>          orders baking at once in this process (default 4)
  --service <name>     device service name, shared to share tickets (default kitchen-devices)
  --no-display         no kitchen display (by default one shows the open tickets)
  --transport-options <json>   transport options, e.g. '{"topicPrefix":"store-12"}'
  --help`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2).filter((arg) => arg !== '--'), // `pnpm kitchen -- --flag` may pass the `--` through
    options: {
      transport: { type: 'string' },
      url: { type: 'string' },
      'bake-time': { type: 'string' },
      ovens: { type: 'string' },
      service: { type: 'string' },
      'no-display': { type: 'boolean' },
      'transport-options': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help === true) {
    console.log(USAGE);
    return;
  }
  const bakeTimeMs = Number(values['bake-time'] ?? 3_000);
  const ovens = Number(values.ovens ?? 4);
  if (!(bakeTimeMs >= 0)) throw new ConfigurationError(`--bake-time must be a number of ms >= 0, got '${values['bake-time']}'.`);
  if (!Number.isInteger(ovens) || ovens < 1) throw new ConfigurationError(`--ovens must be a positive integer, got '${values.ovens}'.`);
  const transport = values.transport ?? (process.env['CLOUDBUS_KITCHEN_TRANSPORT'] || 'mqtt');
  const url = values.url ?? (process.env['CLOUDBUS_KITCHEN_URL'] || undefined);
  const devices = await startKitchenDevices({
    transport,
    url,
    bakeTimeMs,
    ovens,
    service: values.service ?? 'kitchen-devices',
    display: values['no-display'] !== true,
    ...(values['transport-options'] === undefined ? {} : { transportOptions: jsonObject(values['transport-options'], '--transport-options') }),
    onReport: (line) => console.log(`${new Date().toISOString().slice(11, 23)} ${line}`),
  });
  console.log(`👨‍🍳 ${ovens} oven(s) on ${devices.bus.transport.name}${url === undefined ? '' : ` (${new URL(url).host})`}, ${bakeTimeMs} ms per bake. Ctrl-C to stop.`);
  const stop = (): void => {
    devices.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? `${error.name}: ${error.message}` : error);
  process.exitCode = 1;
});

/**
 * Starts Mario's Pizzeria: `pnpm start` (embedded default: in-memory transport, SQLite, simulated
 * kitchen in-process), or `pnpm start -- --transport rabbitmq|nats|mqtt`. See --help.
 */
import 'reflect-metadata';

import { createPizzeria } from './app/pizzeria.js';
import { parsePizzeriaConfig, START_USAGE } from './app/pizzeria-config.js';

async function main(): Promise<void> {
  const config = parsePizzeriaConfig(process.argv.slice(2));
  if (config === 'help') {
    console.log(START_USAGE);
    return;
  }
  const pizzeria = await createPizzeria(config.options);
  const address = await pizzeria.http.listen({ port: config.port, host: config.host });
  const health = (await pizzeria.http.inject({ url: '/health' })).json<Record<string, string>>();
  console.log(`
🍕 Mario's Pizzeria is open at ${address}/   ← open it in your browser: order, kitchen display, manager

   transport ${health['transport']} · kitchen ${health['kitchenTransport']} (devices ${health['kitchenDevices']}) · database ${health['database']}

   menu           curl ${address}/menu
   place order    curl -X POST ${address}/orders -H 'content-type: application/json' \\
                    -d '{"customerId":"c-1","phone":"+39 081 555 0100","items":[{"menuItemId":"margherita","quantity":2}],"deliveryAddress":"Via Toledo 42, Napoli"}'
   pay            curl -X POST ${address}/orders/<id>/pay -H 'content-type: application/json' -d '{}'
   follow it      curl ${address}/orders/<id>
   also           /stock  /analytics  /kitchen  /notifications  /health  /events (live)
   stream orders  pnpm demo -- --url ${address} --count 20 --rate 1

   Ctrl-C to close.
`);
  let closing = false;
  const close = (signal: string): void => {
    if (closing) return;
    closing = true;
    console.log(`\n${signal}: closing the pizzeria (handlers in flight finish first)...`);
    pizzeria.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => close('SIGINT'));
  process.once('SIGTERM', () => close('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? `${error.name}: ${error.message}` : error);
  process.exitCode = 1;
});

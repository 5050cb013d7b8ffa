/**
 * `pnpm demo [-- --url http://127.0.0.1:3000 --count 50 --rate 10]`: places a stream of orders
 * against a running pizzeria, shows progress, and ends with a summary.
 */
import { parseArgs } from 'node:util';

import { runDemo } from './run-demo.js';

const USAGE = `Mario's Pizzeria demo: a stream of orders against a running pizzeria (pnpm start first)

  pnpm demo [-- options]

  --url <url>      the pizzeria (default http://127.0.0.1:3000)   env PIZZERIA_URL
  --count <n>      orders to place (default 20)
  --rate <n>       orders per second (default 5)
  --timeout <ms>   give up on an order not ready after this long (default 120000)
  --help`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2).filter((arg) => arg !== '--'), // `pnpm demo -- --flag` may pass the `--` through
    options: {
      url: { type: 'string' },
      count: { type: 'string' },
      rate: { type: 'string' },
      timeout: { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help === true) {
    console.log(USAGE);
    return;
  }
  const summary = await runDemo({
    url: values.url ?? (process.env['PIZZERIA_URL'] || 'http://127.0.0.1:3000'),
    count: Number(values.count ?? 20),
    rate: Number(values.rate ?? 5),
    timeoutMs: Number(values.timeout ?? 120_000),
  });
  if (summary.failed > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : '';
  console.error(`${error instanceof Error ? error.message : String(error)}${cause}\nIs the pizzeria running? Start it with: pnpm start`);
  process.exitCode = 1;
});

import { ConfigurationError } from '@cloudbus/core';

import { MENU } from '../domain/menu.js';
import type { OrderSnapshot } from '../domain/order.js';
import { percentile } from './percentile.js';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Base URL of a running pizzeria. @default http://127.0.0.1:3000 */
  readonly url?: string;
  /** Orders to place. @default 20 */
  readonly count?: number;
  /** Orders placed per second. @default 5 */
  readonly rate?: number;
  /** Give up on an order not ready after this long, in ms. @default 120_000 */
  readonly timeoutMs?: number;
  /** Progress and summary lines. @default console.log */
  readonly print?: (line: string) => void;
  /**
   * Redraw a progress bar in place (a terminal); otherwise a progress line every 10 %.
   * @default process.stdout.isTTY
   */
  readonly progressBar?: boolean;
}

/** What a demo run saw. */
export interface DemoSummary {
  readonly placed: number;
  readonly delivered: number;
  readonly cancelled: number;
  readonly failed: number;
  /** Order-to-ready times in ms (placedAt to readyAt, server clocks). */
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** POST /orders response times in ms (the order and its outbox rows committed), as the client saw them. */
  readonly placeP50Ms: number;
  readonly placeP99Ms: number;
  /** Dead letters the pizzeria reported at the end. */
  readonly deadLetters: number;
  readonly elapsedMs: number;
}

interface Analytics {
  readonly deadLetters: { readonly count: number };
}

async function call<T>(base: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const response = await fetch(new URL(path, base), {
    method,
    // Every POST is JSON (the API refuses any other), {} when there is nothing to say.
    ...(method === 'POST' ? { body: JSON.stringify(body ?? {}), headers: { 'content-type': 'application/json' } } : {}),
  });
  const answer = (await response.json()) as T;
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function randomOrder(n: number): Record<string, unknown> {
  const lines = 1 + (n % 3);
  const items = Array.from({ length: lines }, (_, i) => ({ menuItemId: MENU[(n + i * 7) % MENU.length]!.id, quantity: 1 + ((n + i) % 2) }));
  return {
    customerId: `demo-${n % 17}`,
    phone: `+39 081 555 ${String(1000 + (n % 9000)).padStart(4, '0')}`,
    ...(n % 2 === 0 ? { email: `customer${n % 17}@example.com` } : {}),
    items,
    deliveryAddress: `Via dei Tribunali ${1 + (n % 300)}, Napoli`,
  };
}

/**
 * Places a stream of orders against a running pizzeria at a steady rate, takes each through
 * payment, the kitchen and delivery, prints progress, and ends with a summary.
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoSummary> {
  const base = options.url ?? 'http://127.0.0.1:3000';
  const count = options.count ?? 20;
  const rate = options.rate ?? 5;
  const timeoutMs = options.timeoutMs ?? 120_000;
  const print = options.print ?? ((line: string) => console.log(line));
  if (!Number.isInteger(count) || count < 1) throw new ConfigurationError(`demo: count must be a positive integer, got ${String(count)}.`);
  if (!(rate > 0)) throw new ConfigurationError(`demo: rate must be > 0 orders per second, got ${String(rate)}.`);
  await call(base, 'GET', '/health');

  const started = Date.now();
  const readyTimes: number[] = [];
  const placeTimes: number[] = [];
  let placed = 0;
  let delivered = 0;
  let cancelled = 0;
  let failed = 0;
  const bar = options.progressBar ?? process.stdout.isTTY === true;
  let lastDecile = -1;
  const progress = (): void => {
    const done = delivered + cancelled + failed;
    const line = `placed ${placed}/${count} · delivered ${delivered} · cancelled ${cancelled} · failed ${failed}`;
    if (bar) {
      const width = 30;
      const filled = Math.round((done / count) * width);
      process.stdout.write(`\r  [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${line}   `);
      return;
    }
    const decile = Math.floor((done / count) * 10);
    if (decile === lastDecile) return;
    lastDecile = decile;
    print(`  ${String(decile * 10).padStart(3)} % ${line}`);
  };

  const follow = async (n: number): Promise<void> => {
    const placing = performance.now();
    const order = await call<OrderSnapshot>(base, 'POST', '/orders', randomOrder(n));
    placeTimes.push(performance.now() - placing);
    placed++;
    await call(base, 'POST', `/orders/${order.id}/pay`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const current = await call<OrderSnapshot>(base, 'GET', `/orders/${order.id}`);
      if (current.status === 'cancelled') {
        cancelled++;
        return;
      }
      if (current.status === 'ready' && current.readyAt !== null) {
        readyTimes.push(Date.parse(current.readyAt) - Date.parse(current.placedAt));
        break;
      }
      if (Date.now() > deadline) throw new Error(`order ${order.id} not ready after ${timeoutMs} ms (status ${current.status})`);
      await sleep(100);
    }
    await call(base, 'POST', `/orders/${order.id}/out-for-delivery`, { courier: ['Luigi', 'Peach', 'Toad'][n % 3] });
    await call(base, 'POST', `/orders/${order.id}/delivered`);
    delivered++;
  };

  print(`Placing ${count} orders at ${rate}/s against ${base}`);
  const flows: Promise<void>[] = [];
  for (let n = 0; n < count; n++) {
    const at = started + (n * 1000) / rate;
    const wait = at - Date.now();
    if (wait > 0) await sleep(wait);
    flows.push(
      follow(n).catch((error: unknown) => {
        failed++;
        print(`\n  ! ${error instanceof Error ? error.message : String(error)}`);
      }),
    );
    progress();
  }
  const ticker = setInterval(progress, 250);
  await Promise.all(flows);
  clearInterval(ticker);
  progress();
  const analytics = await call<Analytics>(base, 'GET', '/analytics');
  const summary: DemoSummary = {
    placed,
    delivered,
    cancelled,
    failed,
    p50Ms: percentile(readyTimes, 50),
    p99Ms: percentile(readyTimes, 99),
    placeP50Ms: percentile(placeTimes, 50),
    placeP99Ms: percentile(placeTimes, 99),
    deadLetters: analytics.deadLetters.count,
    elapsedMs: Date.now() - started,
  };
  const seconds = (ms: number) => (Number.isNaN(ms) ? '-' : `${(ms / 1000).toFixed(2)} s`);
  const milliseconds = (ms: number) => (Number.isNaN(ms) ? '-' : `${ms.toFixed(1)} ms`);
  print(`

  orders placed      ${summary.placed}
  orders delivered   ${summary.delivered}${summary.cancelled > 0 ? ` (${summary.cancelled} cancelled)` : ''}${summary.failed > 0 ? ` (${summary.failed} failed)` : ''}
  placing an order   p50 ${milliseconds(summary.placeP50Ms)} · p99 ${milliseconds(summary.placeP99Ms)}
  order to ready     p50 ${seconds(summary.p50Ms)} · p99 ${seconds(summary.p99Ms)}
  dead letters       ${summary.deadLetters} (see ${base}/analytics)
  elapsed            ${seconds(summary.elapsedMs)}
`);
  return summary;
}

import { mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { brokerUrl, uniqueName } from '@cloudbus/test/brokers';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { canRunBrowser, startInspector, type InspectorHarness } from './inspector-harness.js';
import { LoadPing, OrderPlaced, shopState, startRabbitMqShop } from './shop-fixture.js';

const url = brokerUrl('rabbitmq');
/**
 * Set INSPECTOR_SCREENSHOTS=1 to refresh the screenshots in apps/inspector/docs. This shop makes the
 * publish form's and the 10,000 events'; pizzeria.int.spec.ts the views of the pizzeria's real flows.
 */
const screenshots = process.env['INSPECTOR_SCREENSHOTS'] === '1' ? fileURLToPath(new URL('../../docs/', import.meta.url)) : undefined;
const CAPACITY = 10_000;

async function shot(page: Page, name: string): Promise<void> {
  if (screenshots === undefined) return;
  mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: `${screenshots}${name}.png` });
}

async function closeDetail(page: Page): Promise<void> {
  const close = page.locator('[aria-label="close detail"]');
  if ((await close.count()) > 0) await close.click();
}

async function rowsOfType(page: Page, type: string): Promise<number> {
  return page.locator('[data-testid="event-row"]', { hasText: type }).count();
}

describe.skipIf(!url || !canRunBrowser)('the inspector in a browser, tapping RabbitMQ while a shop runs', () => {
  const run = uniqueName('insp');
  const names = { exchange: `${run}.events`, deadLetterExchange: `${run}.deadletter`, retryPrefix: `${run}.retry`, queuePrefix: `${run}.` };
  let shop: Awaited<ReturnType<typeof startRabbitMqShop>>;
  let inspector: InspectorHarness;
  let page: Page;
  const orderId = `o-${run}`;

  beforeAll(async () => {
    // The inspector opens first: its tap declares nothing the shop does not, and sees everything from the start.
    inspector = await startInspector(
      [{ id: 'rabbit', name: 'local rabbit', broker: 'rabbitmq', url: url!, exchange: names.exchange, deadLetterExchange: names.deadLetterExchange }],
      { capacity: CAPACITY },
    );
    page = inspector.page;
    shop = await startRabbitMqShop(url!, names);
  }, 120_000);

  afterAll(async () => {
    await shop?.stop();
    await inspector?.close();
  }, 60_000);

  it('shows events live as the shop publishes them, with the profile open', async () => {
    await expect.poll(() => page.locator('[data-testid="profile"]').getAttribute('data-state')).toBe('open');
    await shop.bus.publish(new OrderPlaced(orderId, '31.98'));
    await expect.poll(() => rowsOfType(page, 'com.example.shop.order.delivered'), { timeout: 30_000 }).toBe(1);
    // The SMS sender's dead letter arrives after its retry: the order is complete once it is in.
    await expect.poll(() => page.locator('[data-testid="event-row"].kind-dead-letter').count(), { timeout: 30_000 }).toBe(1);
    expect(await rowsOfType(page, 'com.example.shop.order.placed')).toBe(1);
    expect(await rowsOfType(page, 'com.example.shop.cooking.started')).toBe(1);
    const placed = page.locator('[data-testid="event-row"]', { hasText: 'com.example.shop.order.placed' });
    await expect.poll(() => placed.textContent()).toContain(orderId);
  });

  it('narrows the list with filters: type, correlation, and a regular expression over the data', async () => {
    const all = await page.locator('[data-testid="event-row"]').count();
    await page.fill('[data-testid="filter-type"]', 'order.placed');
    await expect.poll(() => page.locator('[data-testid="event-row"]').count()).toBe(1);
    await page.fill('[data-testid="filter-type"]', '');
    await page.fill('[data-testid="filter-text"]', '"total":"\\d+\\.98"');
    await page.check('[data-testid="filter-regex"]');
    await expect.poll(() => page.locator('[data-testid="event-row"]').count()).toBe(1);
    await page.fill('[data-testid="filter-text"]', 'no such thing');
    await expect.poll(() => page.locator('[data-testid="event-row"]').count()).toBe(0);
    await page.fill('[data-testid="filter-text"]', '');
    await page.uncheck('[data-testid="filter-regex"]');
    await expect.poll(() => page.locator('[data-testid="event-row"]').count()).toBe(all);
  });

  it('opens an event with its attributes, its data as a tree and its raw AMQP headers', async () => {
    await page.locator('[data-testid="event-row"]', { hasText: 'com.example.shop.order.placed' }).click();
    const detail = page.locator('[data-testid="event-detail"]');
    await expect.poll(() => detail.locator('[data-testid="detail-attributes"]').textContent()).toContain('correlationid');
    expect(await detail.locator('[data-testid="detail-attributes"]').textContent()).toContain(orderId);
    await detail.locator('[data-testid="detail-tab-data"]').click();
    expect(await detail.locator('[data-testid="detail-data"]').textContent()).toContain('"31.98"');
    await detail.locator('[data-testid="detail-tab-wire"]').click();
    const wire = await detail.locator('[data-testid="detail-wire"]').textContent();
    expect(wire).toContain('cloudEvents_type');
    expect(wire).toContain(`${names.exchange} / com.example.shop.order.placed`);
    await detail.locator('[data-testid="detail-tab-attributes"]').click();
  });

  it("draws the order's flow from placed to delivered, with each handler's outcome, retries and the dead letter", async () => {
    await page.locator('[data-testid="show-flow"]').click();
    const types = async (): Promise<string[]> => (await page.locator('[data-testid="flow-node"]').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-type') ?? ''))).sort();
    await expect
      .poll(types, { timeout: 30_000 })
      .toEqual(['com.example.shop.cooking.started', 'com.example.shop.order.delivered', 'com.example.shop.order.placed', 'com.example.shop.order.ready', 'com.example.shop.payment.processed']);
    const lane = (handler: string) => page.locator(`[data-testid="handler-lane"][data-handler="${handler}"]`);
    await expect.poll(() => lane('shop.Shop.sms').getAttribute('data-outcome'), { timeout: 30_000 }).toBe('dead-lettered');
    const smsSteps = await lane('shop.Shop.sms').locator('[data-testid="lane-step"]').evaluateAll((steps) => steps.map((s) => s.getAttribute('data-kind')));
    expect(smsSteps).toEqual(['handler-started', 'handler-failed', 'retry-scheduled', 'handler-started', 'handler-failed', 'dead-lettered']);
    expect(await lane('shop.Shop.sms').textContent()).toContain('retry #2 in 100 ms');
    await expect.poll(() => lane('shop.Shop.analytics').getAttribute('data-outcome')).toBe('succeeded');
    expect(await lane('shop.Shop.analytics').textContent()).toContain('analytics store busy');
    for (const handler of ['shop.Shop.pay', 'shop.Shop.cook', 'shop.Shop.deliver']) {
      expect(await lane(handler).getAttribute('data-outcome')).toBe('succeeded');
    }
    // The fan-out: cooking started and order ready are both raised by the payment.
    await page.locator('[data-testid="flow-node"][data-type="com.example.shop.order.ready"]').click();
    await expect.poll(() => page.locator('[data-testid="event-detail"] h2').textContent()).toBe('com.example.shop.order.ready');
  });

  it('lists the dead-lettered SMS under its handler and reason, and replays it after a confirmation', async () => {
    await page.locator('[data-testid="tab-dead-letters"]').click();
    const group = page.locator('[data-testid="dead-letter-group"][data-handler="shop.Shop.sms"][data-reason="retries-exhausted"]');
    await expect.poll(() => group.locator('[data-testid="dead-letter"]').count(), { timeout: 30_000 }).toBe(1);
    expect(await group.textContent()).toContain('SMS gateway unreachable');
    await closeDetail(page);
    shopState.smsHealthy = true;
    await group.locator('[data-testid="dead-letter-select"]').check();
    await page.locator('[data-testid="replay-selected"]').click();
    await page.locator('[data-testid="replay-confirm-yes"]').click();
    await expect.poll(() => page.locator('[data-testid="replay-result"]').textContent()).toContain('Replayed 1');
    await expect.poll(() => group.locator('[data-testid="dead-letter-replays"]').textContent()).toBe('↺ 1');

    // The replay shows in the flow, caused by the dead letter, and this time the SMS goes out.
    await page.locator('[data-testid="tab-flow"]').click();
    await expect.poll(() => page.locator('[data-testid="flow-node"].replayed').count(), { timeout: 30_000 }).toBe(1);
    const smsLane = page.locator('[data-testid="handler-lane"][data-handler="shop.Shop.sms"]');
    await expect.poll(() => smsLane.locator('[data-testid="lane-step"][data-kind="handler-succeeded"]').count(), { timeout: 30_000 }).toBe(1);
    await closeDetail(page);
  });

  it('publishes a test event from the form, and it appears in the stream', async () => {
    await page.locator('[data-testid="tab-publish"]').click();
    await page.fill('[data-testid="publish-type"]', 'com.example.shop.inspector.test');
    await page.fill('[data-testid="publish-data"]', '{"hello":"from the inspector"}');
    await page.locator('[data-testid="publish-ext-value"]').first().fill(`corr-${run}`);
    await page.locator('[data-testid="publish-submit"]').click();
    await expect.poll(() => page.locator('[data-testid="publish-outcome"]').textContent()).toMatch(/^Published /);
    await shot(page, 'publish');
    await page.locator('[data-testid="tab-live"]').click();
    await expect.poll(() => rowsOfType(page, 'com.example.shop.inspector.test')).toBe(1);
    await page.locator('[data-testid="event-row"]', { hasText: 'com.example.shop.order.ready' }).first().click();
  });

  it('counts events per type and handler failures', async () => {
    await page.locator('[data-testid="tab-rates"]').click();
    await expect.poll(() => page.locator('[data-testid="rate-handler"][data-handler="shop.Shop.sms"] [data-testid="rate-handler-failed"]').textContent(), { timeout: 10_000 }).toBe('2');
    expect(await page.locator('[data-testid="rate-type"][data-type="com.example.shop.order.placed"]').count()).toBe(1);
  });

  it('exports the capture as a CloudEvents batch and imports it again, flows included', async () => {
    await page.locator('[data-testid="tab-live"]').click();
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid="export"]').click()]);
    const path = await download.path();
    const batch = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>[];
    expect(batch.every((event) => event['specversion'] === '1.0')).toBe(true);
    const placed = batch.find((event) => event['type'] === 'com.example.shop.order.placed')!;
    expect(placed['data']).toEqual({ orderId, total: '31.98' });

    await page.locator('[data-testid="clear"]').click();
    await expect.poll(() => page.locator('[data-testid="total"]').textContent()).toBe('0 captured');
    await page.locator('[data-testid="import-file"]').setInputFiles(path);
    await expect.poll(() => page.locator('.note').textContent()).toBe(`Imported ${batch.length} events.`);
    await page.locator('[data-testid="event-row"]', { hasText: 'com.example.shop.order.placed' }).click();
    await page.locator('[data-testid="show-flow"]').click();
    // Five events of the order and the replayed OrderReady (which only the SMS handler ran again).
    await expect.poll(() => page.locator('[data-testid="flow-node"]').count()).toBe(6);
    await expect.poll(() => page.locator('[data-testid="handler-lane"][data-handler="shop.Shop.sms"]').getAttribute('data-outcome')).toBe('dead-lettered');
    await closeDetail(page);
  });

  it('stays responsive with 10,000 events captured, and says how many older ones it dropped', async () => {
    await page.locator('[data-testid="tab-live"]').click();
    // A probe in the page: how late a 50 ms timer fires while the capture fills up.
    await page.evaluate(() => {
      const w = globalThis as unknown as { lag: number[] };
      w.lag = [];
      let last = performance.now();
      setInterval(() => {
        const now = performance.now();
        w.lag.push(now - last - 50);
        last = now;
      }, 50);
    });
    const totalCaptured = async (): Promise<number> => Number((await page.locator('[data-testid="total"]').textContent())?.replace(/\D/g, ''));
    const before = await totalCaptured();
    const started = Date.now();
    const batch = 500;
    const total = 12_000;
    for (let i = 0; i < total; i += batch) {
      await shop.bus.publish(Array.from({ length: batch }, (_, k) => new LoadPing(i + k)));
    }
    const published = Date.now();
    await expect.poll(totalCaptured, { timeout: 120_000, interval: 250 }).toBeGreaterThanOrEqual(before + total);
    // Newest first: the last event published is the first row.
    await page.locator('[data-testid="event-row"]').first().click();
    await expect.poll(() => page.locator('[data-testid="event-detail"] h2').textContent()).toBe('com.example.shop.load');
    const shown = Date.now();
    const banner = await page.locator('[data-testid="dropped-banner"]').textContent();
    expect(banner).toMatch(/oldest events dropped: the capture keeps the last 10,000/);
    expect(Number((await page.locator('[data-testid="visible-count"]').textContent())?.replace(/\D/g, ''))).toBeGreaterThan(9_000);
    // Virtualized: a screenful of rows in the DOM, not ten thousand.
    expect(await page.locator('[data-testid="event-row"]').count()).toBeLessThan(120);
    const filterStart = Date.now();
    await page.fill('[data-testid="filter-type"]', 'load');
    await expect.poll(() => page.locator('[data-testid="event-row"]').first().textContent()).toContain('com.example.shop.load');
    const filterMs = Date.now() - filterStart;
    const lag = await page.evaluate(() => {
      const values = (globalThis as unknown as { lag: number[] }).lag.slice().sort((a, b) => a - b);
      return { max: values.at(-1) ?? 0, p95: values[Math.floor(values.length * 0.95)] ?? 0 };
    });
    console.log(
      `[inspector] ${total} events: published in ${published - started} ms, all shown ${shown - started} ms after the first; ` +
        `page timer lag p95 ${Math.round(lag.p95)} ms, max ${Math.round(lag.max)} ms; filter over ${CAPACITY} rows ${filterMs} ms`,
    );
    await page.fill('[data-testid="filter-type"]', '');
    await shot(page, 'live-stream-10k');
  });
});

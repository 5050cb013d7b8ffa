import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import type { OrderSnapshot } from '@cloudbus/pizzeria';
import { brokerUrl } from '@cloudbus/test/brokers';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { canRunBrowser, startInspector, type InspectorHarness } from './inspector-harness.js';
import { pizzeriaNames, pizzeriaProfiles, startPizzeria, type RunningPizzeria } from './pizzeria-fixture.js';

const rabbitUrl = brokerUrl('rabbitmq');
const mqttUrl = brokerUrl('mqtt');
/** Set INSPECTOR_SCREENSHOTS=1 to refresh the screenshots in apps/inspector/docs. */
const screenshots = process.env['INSPECTOR_SCREENSHOTS'] === '1' ? fileURLToPath(new URL('../../docs/', import.meta.url)) : undefined;

const ORDER = 'com.mariopizzeria.order';
const KITCHEN = 'com.mariopizzeria.kitchen';
/** Every event of one order's life on the main bus, in order. */
const ORDER_LIFE = [`${ORDER}.placed`, `${ORDER}.payment-processed`, `${ORDER}.cooking-started`, `${ORDER}.ready`, `${ORDER}.out-for-delivery`, `${ORDER}.delivered`];
const KITCHEN_EVENTS = [`${KITCHEN}.ticket-queued`, `${KITCHEN}.cooking-started`, `${KITCHEN}.order-ready`];

/** Saves a screenshot of the window; `height` makes it taller for once (the flow's lanes). */
async function shot(page: Page, name: string, height?: number): Promise<void> {
  if (screenshots === undefined) return;
  mkdirSync(screenshots, { recursive: true });
  const size = page.viewportSize();
  if (height !== undefined && size !== null) await page.setViewportSize({ width: size.width, height });
  await page.screenshot({ path: `${screenshots}${name}.png` });
  if (height !== undefined && size !== null) await page.setViewportSize(size);
}

async function closeDetail(page: Page): Promise<void> {
  const close = page.locator('[aria-label="close detail"]');
  if ((await close.count()) > 0) await close.click();
}

function rows(page: Page, text?: string) {
  return page.locator('[data-testid="event-row"]', text === undefined ? {} : { hasText: text });
}

/** The value of one attribute in the open event's detail. */
async function attribute(page: Page, name: string): Promise<string | null> {
  const detail = page.locator('[data-testid="event-detail"]');
  await detail.locator('[data-testid="detail-tab-attributes"]').click();
  return detail.locator('[data-testid="detail-attributes"] tr').filter({ has: page.locator('th', { hasText: new RegExp(`^${name}$`) }) }).locator('td').textContent();
}

/** The `type` cells of the rows in view. */
async function rowTypes(page: Page): Promise<string[]> {
  return rows(page).locator('.c-type').allTextContents();
}

describe.skipIf(!rabbitUrl || !mqttUrl || !canRunBrowser)('the inspector in a browser while the pizzeria runs on RabbitMQ, its kitchen on MQTT', () => {
  const names = pizzeriaNames();
  let inspector: InspectorHarness;
  let page: Page;
  let shop: RunningPizzeria;
  /** The order whose "ready" SMS is dead-lettered, and a second one (three diavolas) that goes through untroubled. */
  let first: OrderSnapshot;
  let second: OrderSnapshot;
  /** The id of the dead-lettered "ready" SMS's event, as the live stream shows it. */
  let deadLetterId: string | null;

  beforeAll(async () => {
    // The inspector opens first, with a profile per broker, so it sees the pizzeria from its first event.
    inspector = await startInspector(pizzeriaProfiles(names, rabbitUrl!, mqttUrl!));
    page = inspector.page;
    shop = await startPizzeria(names, rabbitUrl!, mqttUrl!);
  }, 180_000);

  afterAll(async () => {
    try {
      await inspector?.close();
    } finally {
      await shop?.stop();
    }
  }, 60_000);

  it("shows the pizzeria's order events (RabbitMQ) and kitchen events (MQTT) live while orders go from placed to delivered", async () => {
    await expect.poll(() => page.locator('[data-testid="profile"]').evaluateAll((ps) => ps.map((p) => p.getAttribute('data-state')))).toEqual(['open', 'open']);
    first = await shop.http.placeOrder([
      { menuItemId: 'margherita', quantity: 2 },
      { menuItemId: 'tiramisu', quantity: 1 },
    ]);
    shop.sms.failReadySmsOf = first.id;
    // The placed order shows before anything else happens to it.
    await expect.poll(() => rows(page, first.id).count(), { timeout: 30_000 }).toBeGreaterThanOrEqual(1);
    expect(await rows(page, `${ORDER}.placed`).count()).toBe(1);

    second = await shop.http.placeOrder([{ menuItemId: 'diavola', quantity: 3 }]);
    const delivered = await Promise.all([shop.http.deliver(first.id), shop.http.deliver(second.id)]);
    expect(delivered.map((order) => order.status)).toEqual(['delivered', 'delivered']);

    await expect.poll(() => rows(page, `${ORDER}.delivered`).count(), { timeout: 30_000 }).toBe(2);
    const events = (type: string) => page.locator('[data-testid="event-row"]:not(.kind-dead-letter)', { hasText: type });
    for (const type of [...ORDER_LIFE, ...KITCHEN_EVENTS]) expect(await events(type).count(), type).toBe(2);
    // The kitchen events come through the MQTT profile, from the kitchen bus and the ovens.
    expect(await rows(page, `${KITCHEN}.order-ready`).first().locator('.c-source').textContent()).toBe(`/${shop.devicesService}`);
    // The first order's "ready" SMS is dead-lettered after its retries (200 + 400 + 800 ms).
    await expect.poll(() => page.locator('[data-testid="event-row"].kind-dead-letter').count(), { timeout: 30_000 }).toBe(1);
    const deadLetter = page.locator('[data-testid="event-row"].kind-dead-letter');
    expect(await deadLetter.textContent()).toContain(`☠ ${ORDER}.ready`);
    expect(await deadLetter.textContent()).toContain(first.id);
    await deadLetter.click();
    deadLetterId = await attribute(page, 'id');
    expect(deadLetterId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('narrows the list with filters: type, source, correlation id, and a regular expression over the data', async () => {
    const all = await rows(page).count();
    expect(all).toBeGreaterThanOrEqual(19);

    await page.fill('[data-testid="filter-type"]', 'order.placed');
    await expect.poll(() => rowTypes(page)).toEqual([`${ORDER}.placed`, `${ORDER}.placed`]);
    await page.fill('[data-testid="filter-type"]', '');

    await page.fill('[data-testid="filter-source"]', shop.devicesService);
    await expect.poll(() => rows(page).count()).toBe(4);
    expect(new Set(await rowTypes(page))).toEqual(new Set([`${KITCHEN}.cooking-started`, `${KITCHEN}.order-ready`]));
    await page.fill('[data-testid="filter-source"]', '');

    await page.fill('[data-testid="filter-correlationId"]', second.id);
    // Plus the carriers of the OrderLifecycle saga's two timeouts (payment, delivery), held by the broker.
    await expect.poll(() => rows(page).count()).toBe(ORDER_LIFE.length + KITCHEN_EVENTS.length + 2);
    expect(await rows(page, first.id).count()).toBe(0);
    await page.fill('[data-testid="filter-correlationId"]', '');

    await page.check('[data-testid="filter-regex"]');
    // Over the first 200 bytes of the data: the placed order of the second customer's diavolas.
    await page.fill('[data-testid="filter-text"]', '"items":\\[\\{"menuItemId":"diav\\w+"');
    await expect.poll(() => rowTypes(page)).toEqual([`${ORDER}.placed`]);
    expect(await rows(page, second.id).count()).toBe(1);
    await page.fill('[data-testid="filter-text"]', 'no such (pizza|order)');
    await expect.poll(() => rows(page).count()).toBe(0);
    await page.fill('[data-testid="filter-text"]', '');
    await page.uncheck('[data-testid="filter-regex"]');
    await expect.poll(() => rows(page).count()).toBe(all);
  });

  it('opens an order event with its attributes, its data as a tree and its AMQP headers, and a kitchen event with its MQTT topic', async () => {
    await rows(page, `${KITCHEN}.order-ready`).first().click();
    const detail = page.locator('[data-testid="event-detail"]');
    await expect.poll(() => detail.locator('h2').textContent()).toBe(`${KITCHEN}.order-ready`);
    // Captured by the MQTT profile: "event #<seq> · kitchen".
    expect(await detail.locator('.detail-meta').textContent()).toMatch(/^event #\d+ · kitchen/);
    await detail.locator('[data-testid="detail-tab-wire"]').click();
    expect(await detail.locator('[data-testid="detail-wire"]').textContent()).toContain(`${names.kitchenTopicPrefix}/`);
    await shot(page, 'event-detail-mqtt');

    await rows(page, `${ORDER}.placed`).filter({ hasText: first.id }).click();
    await expect.poll(() => detail.locator('h2').textContent()).toBe(`${ORDER}.placed`);
    expect(await detail.locator('.detail-meta').textContent()).toMatch(/^event #\d+ · orders/);
    await detail.locator('[data-testid="detail-tab-attributes"]').click();
    const attributes = await detail.locator('[data-testid="detail-attributes"]').textContent();
    expect(attributes).toContain('correlationid');
    expect(attributes).toContain(first.id);
    expect(attributes).toContain(`/${shop.service}`);
    await detail.locator('[data-testid="detail-tab-data"]').click();
    const data = await detail.locator('[data-testid="detail-data"]').textContent();
    expect(data).toContain(`"${first.total}"`);
    expect(data).toContain('Via Toledo 42, Napoli');
    await detail.locator('[data-testid="detail-tab-wire"]').click();
    const wire = await detail.locator('[data-testid="detail-wire"]').textContent();
    expect(wire).toContain('cloudEvents_type');
    expect(wire).toContain(`${names.exchange} / ${ORDER}.placed`);
    await detail.locator('[data-testid="detail-tab-data"]').click();
    await shot(page, 'event-detail');
  });

  it("draws the first order's flow from OrderPlaced to OrderDelivered, with every handler's lane and outcome", async () => {
    await page.locator('[data-testid="show-flow"]').click();
    await expect.poll(() => page.locator('[data-testid="flow-correlation"]').inputValue()).toBe(first.id);
    const types = async (): Promise<string[]> => (await page.locator('[data-testid="flow-node"]').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-type') ?? ''))).sort();
    const carrier = `io.cloudbus.scheduled.${shop.service}`; // the saga's two timeouts, waiting in the broker
    await expect.poll(types, { timeout: 30_000 }).toEqual([...ORDER_LIFE, ...KITCHEN_EVENTS, carrier, carrier].sort());

    const lane = (handler: string) => page.locator(`[data-testid="handler-lane"][data-handler="${handler}"]`);
    const sms = lane(`${shop.service}.CustomerCommunication.readyBySms`);
    await expect.poll(() => sms.getAttribute('data-outcome'), { timeout: 30_000 }).toBe('dead-lettered');
    const smsSteps = await sms.locator('[data-testid="lane-step"]').evaluateAll((steps) => steps.map((s) => s.getAttribute('data-kind')));
    expect(smsSteps).toEqual([
      ...['handler-started', 'handler-failed', 'retry-scheduled'],
      ...['handler-started', 'handler-failed', 'retry-scheduled'],
      ...['handler-started', 'handler-failed', 'retry-scheduled'],
      ...['handler-started', 'handler-failed', 'dead-lettered'],
    ]);
    expect(await sms.textContent()).toContain('SMS gateway unreachable');
    // Every other handler the order went through succeeded: on the main bus, the kitchen bus and the ovens.
    const succeeded = [
      `${shop.service}.CustomerCommunication.confirmBySms`,
      `${shop.service}.CustomerCommunication.confirmByEmail`,
      `${shop.service}.KitchenWorkflow`,
      `${shop.service}-kitchen.KitchenReports.cookingStarted`,
      `${shop.service}-kitchen.KitchenReports.orderReady`,
    ];
    for (const handler of succeeded) {
      await expect.poll(() => lane(handler).getAttribute('data-outcome'), { timeout: 10_000, message: handler }).toBe('succeeded');
    }
    const lanes = await page.locator('[data-testid="handler-lane"]').evaluateAll((all) => all.map((l) => [l.getAttribute('data-handler'), l.getAttribute('data-outcome')]));
    expect(lanes.filter(([, outcome]) => outcome !== 'succeeded' && outcome !== 'skipped')).toEqual([[`${shop.service}.CustomerCommunication.readyBySms`, 'dead-lettered']]);
    expect(lanes.some(([handler]) => handler?.startsWith(`${shop.devicesService}.`))).toBe(true);

    // The OrderLifecycle saga of the order: completed on delivery, with the state it saved last.
    // Each saga method has its subscription, so OrderDelivered may be handled before
    // OrderOutForDelivery: the last state saved is past payment, on the road or not.
    const saga = page.locator('[data-testid="saga-instance"]');
    await expect.poll(() => saga.getAttribute('data-status'), { timeout: 30_000 }).toBe('completed');
    expect(await saga.textContent()).toContain('OrderLifecycle');
    const state = JSON.parse((await saga.locator('[data-testid="saga-state"]').textContent()) ?? '') as { stage?: string; orderId?: string };
    expect(['paid', 'on-the-road']).toContain(state.stage);
    expect(typeof state.orderId).toBe('string');

    await page.locator(`[data-testid="flow-node"][data-type="${ORDER}.delivered"]`).click();
    await expect.poll(() => page.locator('[data-testid="event-detail"] h2').textContent()).toBe(`${ORDER}.delivered`);
    await closeDetail(page);
    await shot(page, 'flow', 1120);
  });

  it('lists the dead-lettered SMS under its handler and reason, and replays it: a new id caused by the dead letter, shown in the flow, and the SMS goes out', async () => {
    await page.locator('[data-testid="tab-dead-letters"]').click();
    const handler = `${shop.service}.CustomerCommunication.readyBySms`;
    const group = page.locator(`[data-testid="dead-letter-group"][data-handler="${handler}"][data-reason="retries-exhausted"]`);
    await expect.poll(() => group.locator('[data-testid="dead-letter"]').count(), { timeout: 30_000 }).toBe(1);
    expect(await page.locator('[data-testid="dead-letter"]').count()).toBe(1);
    expect(await group.textContent()).toContain('SMS gateway unreachable');
    await closeDetail(page);

    shop.sms.healed = true;
    await group.locator('[data-testid="dead-letter-select"]').check();
    await page.locator('[data-testid="replay-selected"]').click();
    await shot(page, 'dead-letters');
    await page.locator('[data-testid="replay-confirm-yes"]').click();
    await expect.poll(() => page.locator('[data-testid="replay-result"]').textContent()).toContain('Replayed 1');
    await expect.poll(() => group.locator('[data-testid="dead-letter-replays"]').textContent()).toBe('↺ 1');
    await expect.poll(() => shop.sms.sent.filter((m) => m.orderId === first.id && m.text.includes('is ready')).length, { timeout: 30_000 }).toBe(1);

    await page.locator('[data-testid="tab-flow"]').click();
    const replayed = page.locator('[data-testid="flow-node"].replayed');
    await expect.poll(() => replayed.count(), { timeout: 30_000 }).toBe(1);
    expect(await replayed.getAttribute('data-type')).toBe(`${ORDER}.ready`);
    const sms = page.locator(`[data-testid="handler-lane"][data-handler="${handler}"]`);
    await expect.poll(() => sms.locator('[data-testid="lane-step"][data-kind="handler-succeeded"]').count(), { timeout: 30_000 }).toBe(1);

    // The replay is a new event: its own id, caused by the dead letter, which is the first order's OrderReady.
    await page.locator(`[data-testid="flow-node"][data-type="${ORDER}.ready"]:not(.replayed)`).click();
    await expect.poll(() => attribute(page, 'id')).toBe(deadLetterId);
    await replayed.click();
    await expect.poll(() => attribute(page, 'causationid')).toBe(deadLetterId);
    expect(await attribute(page, 'id')).not.toBe(deadLetterId);
    expect(await attribute(page, 'correlationid')).toBe(first.id);
    await closeDetail(page);
    await shot(page, 'flow-after-replay', 1120);
  });

  it('counts events per type and the handler failures', async () => {
    await page.locator('[data-testid="tab-rates"]').click();
    const failed = page.locator(`[data-testid="rate-handler"][data-handler="${shop.service}.CustomerCommunication.readyBySms"] [data-testid="rate-handler-failed"]`);
    await expect.poll(() => failed.textContent(), { timeout: 10_000 }).toBe('4');
    for (const type of [`${ORDER}.placed`, `${KITCHEN}.order-ready`]) expect(await page.locator(`[data-testid="rate-type"][data-type="${type}"]`).count()).toBe(1);
    await shot(page, 'rates');
  });

  it('shows the whole run in the live stream, dead letter and replay included', async () => {
    await page.locator('[data-testid="tab-live"]').click();
    // Both orders' OrderReady, the dead letter (☠) and its replay.
    await expect.poll(() => rows(page, `${ORDER}.ready`).count()).toBe(4);
    expect(await rows(page, `☠ ${ORDER}.ready`).count()).toBe(1);
    await rows(page, `${ORDER}.placed`).filter({ hasText: second.id }).click();
    await shot(page, 'live-stream');
  });
});

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { brokerUrl, uniqueName } from '@cloudbus/test/brokers';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { createPizzeria, type Pizzeria } from '../app/pizzeria.js';
import type { PizzeriaOptions } from '../app/pizzeria-options.js';
import { buildWebPage, canRunBrowser, launchBrowser, type TestBrowser } from '../testing/browser.js';
import { isolate, mqttIsolation, type Isolation } from '../testing/broker-isolation.js';

/** With PIZZERIA_SCREENSHOTS=<dir>, the memory run saves the screenshots the README shows. */
const screenshotDir = process.env['PIZZERIA_SCREENSHOTS'];

/** Waits for what a person would see; generous, as the page waits on the server and the machine may be busy. */
const eventually = <T>(read: () => Promise<T> | T) => expect.poll(read, { timeout: 20_000 });

const rabbitUrl = brokerUrl('rabbitmq');
const mqttUrl = brokerUrl('mqtt');

interface Target {
  readonly name: string;
  readonly available: boolean;
  /** The pizzeria's options, and the names to delete afterwards: of the main bus's broker, then the kitchen's. */
  options(): { options: PizzeriaOptions; isolations: readonly [Isolation, Isolation] | [] };
}

const targets: Target[] = [
  { name: 'memory', available: true, options: () => ({ options: { transport: 'memory', url: `memory://${uniqueName('web')}` }, isolations: [] }) },
  {
    name: 'RabbitMQ (kitchen over MQTT)',
    available: rabbitUrl !== undefined && mqttUrl !== undefined,
    options: () => {
      const orders = isolate('rabbitmq', rabbitUrl!);
      const kitchen = mqttIsolation(uniqueName('kitchen'));
      return {
        options: {
          service: uniqueName('pizzeria'),
          transport: 'rabbitmq',
          url: rabbitUrl!,
          transportOptions: orders.transportOptions,
          kitchenTransport: 'mqtt',
          kitchenUrl: mqttUrl!,
          kitchenTransportOptions: kitchen.transportOptions,
          kitchenDevicesService: uniqueName('devices'),
          outboxPollIntervalMs: 200,
        },
        isolations: [orders, kitchen],
      };
    },
  },
];

/** How long an order may stay unpaid in these tests. */
const PAYMENT_TIMEOUT_MS = 8_000;

for (const target of targets) {
  describe.skipIf(!canRunBrowser || !target.available)(`the web page in Chromium, on ${target.name}`, () => {
    const setup = target.options();
    let pizzeria: Pizzeria;
    let url: string;
    let browser: TestBrowser;

    beforeAll(async () => {
      buildWebPage();
      // Short enough for a quick test, long enough to see an order in the oven.
      // The payment window is short enough to watch an unpaid order lapse, long enough for a customer who pays.
      pizzeria = await createPizzeria({ database: ':memory:', bakeTimeMs: 1_500, paymentTimeoutMs: PAYMENT_TIMEOUT_MS, ...setup.options });
      url = `${await pizzeria.http.listen({ port: 0, host: '127.0.0.1' })}/`;
      browser = await launchBrowser();
    });

    afterAll(async () => {
      try {
        await browser?.close();
      } finally {
        if (pizzeria !== undefined) {
          const [orders, kitchen] = setup.isolations;
          await orders?.beforeClose(pizzeria.bus.transport);
          await kitchen?.beforeClose(pizzeria.kitchenBus.transport);
          await pizzeria.stop();
        }
        for (const isolation of setup.isolations) await isolation.cleanup();
      }
    });

    const pages: Page[] = [];
    afterEach(async () => {
      for (const page of pages.splice(0)) await page.close();
    });
    const open = async (path = '', viewport?: { width: number; height: number }) => {
      const page = await browser.open(`${url}${path}`, viewport);
      pages.push(page);
      await page.locator('#live.on').waitFor(); // the live stream is open
      return page;
    };
    const shoot = async (page: Page, name: string) => {
      if (screenshotDir === undefined || target.name !== 'memory') return;
      mkdirSync(screenshotDir, { recursive: true });
      await page.screenshot({ path: join(screenshotDir, name), fullPage: true });
    };

    it('a customer orders and pays, the kitchen bakes it and hands it to a courier, and the customer sees it delivered', async () => {
      const customer = await open();
      await eventually(() => customer.locator('#menu .dish').count()).toBe(6);
      await customer.getByRole('button', { name: 'Add Margherita' }).click();
      await customer.getByRole('button', { name: 'Add Margherita' }).click();
      await customer.getByRole('button', { name: 'Add Diavola' }).click();
      await eventually(() => customer.locator('#cart-total').textContent()).toBe('€31.00');
      await customer.getByLabel('Phone').fill('+39 081 555 0100');
      await customer.getByLabel('E-mail').fill('anna@example.com');
      await customer.getByLabel('Delivery address').fill('Via Toledo 42, Napoli');
      await shoot(customer, 'customer-menu.png');
      await customer.getByRole('button', { name: 'Place order' }).click();

      const tracker = customer.locator('#tracker');
      await tracker.locator('[data-step="placed"].done').waitFor();
      const shortId = (await customer.locator('#tracker-id').textContent())!;
      expect(shortId).toMatch(/^[0-9a-f]{8}$/);
      const [order] = (await pizzeria.orders.recent(1)).filter((o) => o.id.startsWith(shortId));
      expect(order).toMatchObject({ phone: '+39 081 555 0100', email: 'anna@example.com', total: '31.00', status: 'placed' });

      // The kitchen display, open beside the customer's page.
      const kitchen = await open('#kitchen');
      await customer.getByRole('button', { name: 'Pay €31.00' }).click();
      await tracker.locator('[data-step="paid"].done').waitFor();
      await kitchen.locator(`.oven.baking[data-order="${order!.id}"]`).waitFor();
      await eventually(() => kitchen.locator(`.oven[data-order="${order!.id}"] .oven-lines`).textContent()).toBe('2× Margherita, 1× Diavola');
      await shoot(kitchen, 'kitchen-display.png');
      await tracker.locator('[data-step="cooking"].done').waitFor();

      const ready = kitchen.locator(`#ready [data-order="${order!.id}"]`);
      await ready.waitFor();
      await tracker.locator('[data-step="ready"].done').waitFor();
      await ready.getByRole('button', { name: /^Hand to / }).click();
      const out = kitchen.locator(`#out [data-order="${order!.id}"]`);
      await out.waitFor();
      await tracker.locator('[data-step="out-for-delivery"].done').waitFor();
      await out.getByRole('button', { name: 'Delivered' }).click();
      await kitchen.locator(`#delivered [data-order="${order!.id}"]`).waitFor();

      // Pushed to the customer's page, which was never reloaded.
      await tracker.locator('[data-step="delivered"].done').waitFor();
      expect(await tracker.locator('.step.done').count()).toBe(6);
      expect(await tracker.locator('[data-step="delivered"] time').getAttribute('datetime')).toBe((await pizzeria.orders.get(order!.id))!.snapshot().deliveredAt);
      await eventually(() => customer.locator('#notifications .note-sms').count()).toBe(2); // confirmed, then ready
      expect(await customer.locator('#notifications .note-email').count()).toBe(1);
      await shoot(customer, 'customer-tracker.png');

      const manager = await open('#manager');
      await eventually(() => manager.locator('#kpis .kpi').count()).toBe(6);
      await eventually(async () => (await manager.locator('#kpis').textContent()) ?? '').toContain('€31.00');
      expect(await manager.locator('#dead-letters a').getAttribute('href')).toBe('http://127.0.0.1:5178/');
      expect(await manager.locator('#stock tr').count()).toBeGreaterThan(5);
      await shoot(manager, 'manager.png');
    });

    it('shows a bad phone number as an error next to the phone field, and places nothing', async () => {
      const customer = await open('', { width: 1360, height: 760 });
      const before = (await pizzeria.orders.recent(500)).length;
      await customer.getByRole('button', { name: 'Add Marinara' }).click();
      await customer.getByLabel('Phone').fill('call me maybe');
      await customer.getByLabel('Delivery address').fill('Via Toledo 42, Napoli');
      await customer.getByRole('button', { name: 'Place order' }).click();
      const error = customer.locator('[data-error-for="phone"]');
      await eventually(() => error.textContent()).toMatch(/^Must be a phone number/);
      expect(await customer.getByLabel('Phone').getAttribute('aria-invalid')).toBe('true');
      expect(await customer.locator('[data-error-for="deliveryAddress"]').textContent()).toBe('');
      expect(await customer.locator('#tracker').isHidden()).toBe(true);
      expect((await pizzeria.orders.recent(500)).length).toBe(before);
      await shoot(customer, 'customer-validation.png');

      // Corrected, the same form goes through.
      await customer.getByLabel('Phone').fill('+39 081 555 0199');
      await customer.getByRole('button', { name: 'Place order' }).click();
      await customer.locator('#tracker [data-step="placed"].done').waitFor();
      expect(await error.textContent()).toBe('');
    });

    it('tells a customer who never pays that the order was cancelled for non-payment', async () => {
      const customer = await open();
      await customer.getByRole('button', { name: 'Add Marinara' }).click();
      await customer.getByLabel('Phone').fill('+39 081 555 0177');
      await customer.getByLabel('Delivery address').fill('Via Toledo 42, Napoli');
      await customer.getByRole('button', { name: 'Place order' }).click();
      await customer.locator('#tracker [data-step="placed"].done').waitFor();
      const cancelled = customer.locator('#tracker-cancelled');
      await cancelled.waitFor({ state: 'visible', timeout: PAYMENT_TIMEOUT_MS + 30_000 });
      expect(await cancelled.textContent()).toMatch(/^Cancelled for non-payment at .*: payment not received within 8 s$/);
      expect(await customer.locator('#tracker [data-step="paid"].done').count()).toBe(0);
    });
  });
}

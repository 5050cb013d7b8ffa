import { randomUUID } from 'node:crypto';

import { afterAll, describe, expect, it } from 'vitest';

import { EventBus } from '../bus/event-bus.js';
import { silentLogger } from '../logger.js';
import type { DeadLetterEntry } from '../dead-letter/dead-letters.js';
import { PermanentError } from '../errors.js';
import { EventType, eventBrand } from '../events/event-type.js';
import type { EventContext } from '../handlers/event-context.js';
import { EventHandler } from '../handlers/event-handler.js';
import { retry } from '../policies/retry.js';
import { canRemoveDeadLetters } from '../transport/transport.js';
import type { ContractHarness } from './transport-contract.js';
import { eventually, Recorder } from './waiting.js';

/**
 * The dead-letter management suite: `bus.deadLetters` list (every filter), get, replay and delete,
 * end to end over the transport. Every transport runs it unchanged, with the harness of
 * {@link transportContract}; names are unique per run, so runs can share a broker.
 */
export function deadLetterContract(name: string, factory: () => ContractHarness | Promise<ContractHarness>): void {
  describe(`dead-letter management: ${name}`, () => {
    const run = `d${Date.now().toString(36)}${randomUUID().slice(0, 6)}`;
    let harnessPromise: Promise<ContractHarness> | undefined;
    const harness = () => (harnessPromise ??= Promise.resolve(factory()));
    const buses: EventBus[] = [];
    const timeout = async () => (await harness()).timeoutMs ?? 10_000;

    afterAll(async () => {
      for (const bus of buses) await bus.stop();
      await (await harness()).cleanup?.();
    });

    class OrderPlaced {
      declare readonly [eventBrand]: string;
      constructor(readonly orderId: string) {}
    }
    EventType(`dev.cloudbus.dlc.${run}.order.placed`)(OrderPlaced);
    class OrderCancelled {
      declare readonly [eventBrand]: string;
      constructor(readonly orderId: string) {}
    }
    EventType(`dev.cloudbus.dlc.${run}.order.cancelled`)(OrderCancelled);

    const billing = `${run}-billing`;
    const shipping = `${run}-shipping`;
    const invoices = new Recorder();
    let invoicingUp = false;
    const labels = new Recorder();

    class Invoice {
      handle(_event: OrderPlaced, context: EventContext): void {
        invoices.record(_event, context);
        if (!invoicingUp) throw new Error('invoicing is down');
      }
    }
    EventHandler(OrderPlaced, { name: 'Invoice', retry: retry.none() })(Invoice);
    class Label {
      handle(event: OrderPlaced, context: EventContext): void {
        labels.record(event, context);
        throw new PermanentError(`no label for ${event.orderId}`);
      }
    }
    EventHandler(OrderPlaced, { name: 'Label', retry: retry.none() })(Label);
    class Void {
      handle(event: OrderCancelled): void {
        throw new PermanentError(`cannot void ${event.orderId}`);
      }
    }
    EventHandler(OrderCancelled, { name: 'Void', retry: retry.none() })(Void);

    async function startBus(service: string, handlers: (new () => object)[]): Promise<EventBus> {
      const transport = await (await harness()).createTransport();
      const bus = new EventBus({ logger: silentLogger, service, transport, handlers });
      buses.push(bus);
      await bus.start();
      return bus;
    }

    /** The dead letters of this run (the store may hold other runs'). */
    const ours = async (bus: EventBus): Promise<DeadLetterEntry[]> =>
      (await bus.deadLetters.list()).filter((entry) => entry.record?.handler.startsWith(`${run}-`) === true);

    let billingBus: EventBus;
    let before: Date;
    let after: Date;
    let placedId: string;
    let cancelledId: string;

    it('lists dead letters with filters by service, handler, type, reason and time, and shows one by id', async () => {
      billingBus = await startBus(billing, [Invoice]);
      await startBus(shipping, [Label, Void]);
      before = new Date(Date.now() - 1_000);
      const placed = new OrderPlaced('o-1');
      const cancelled = new OrderCancelled('o-2');
      const [placedEvent] = billingBus.prepare(placed);
      const [cancelledEvent] = billingBus.prepare(cancelled);
      placedId = placedEvent!.id;
      cancelledId = cancelledEvent!.id;
      await billingBus.publishPrepared([placedEvent!]);
      await billingBus.publishPrepared([cancelledEvent!]);
      await eventually(async () => ((await ours(billingBus)).length >= 3 ? true : undefined), await timeout(), 'three dead letters');
      after = new Date(Date.now() + 1_000);

      const all = await ours(billingBus);
      expect(all.map((entry) => entry.id).sort()).toEqual(
        [`${billing}.Invoice:${placedId}`, `${shipping}.Label:${placedId}`, `${shipping}.Void:${cancelledId}`].sort(),
      );
      const ids = (entries: DeadLetterEntry[]) => entries.map((entry) => entry.id).sort();
      expect(ids(await billingBus.deadLetters.list({ service: billing }))).toEqual([`${billing}.Invoice:${placedId}`]);
      expect(ids(await billingBus.deadLetters.list({ service: shipping }))).toEqual([`${shipping}.Label:${placedId}`, `${shipping}.Void:${cancelledId}`].sort());
      expect(ids(await billingBus.deadLetters.list({ handler: `${shipping}.Label` }))).toEqual([`${shipping}.Label:${placedId}`]);
      expect(ids(await billingBus.deadLetters.list({ service: shipping, handler: 'Void' }))).toEqual([`${shipping}.Void:${cancelledId}`]);
      expect(ids(await billingBus.deadLetters.list({ service: shipping, type: `dev.cloudbus.dlc.${run}.order.cancelled` }))).toEqual([
        `${shipping}.Void:${cancelledId}`,
      ]);
      expect(ids(await billingBus.deadLetters.list({ service: shipping, reason: 'non-retryable' }))).toHaveLength(2);
      expect(ids(await billingBus.deadLetters.list({ service: shipping, reason: 'retries-exhausted' }))).toEqual([]);
      expect(ids(await billingBus.deadLetters.list({ service: billing, reason: 'retries-exhausted' }))).toEqual([`${billing}.Invoice:${placedId}`]);
      expect(await billingBus.deadLetters.list({ service: billing, from: after })).toEqual([]);
      expect(await billingBus.deadLetters.list({ service: billing, to: before })).toEqual([]);
      expect(ids(await billingBus.deadLetters.list({ service: billing, from: before, to: after }))).toEqual([`${billing}.Invoice:${placedId}`]);

      const shown = await billingBus.deadLetters.get(`${billing}.Invoice:${placedId}`);
      expect(shown?.record).toMatchObject({ reason: 'retries-exhausted', handler: `${billing}.Invoice`, attempts: 1, error: { type: 'Error', message: 'invoicing is down' } });
      expect(shown?.cloudEvent?.type).toBe(`dev.cloudbus.dlc.${run}.order.placed`);
      expect(shown?.time?.getTime()).toBeGreaterThanOrEqual(before.getTime());
      expect(await billingBus.deadLetters.get(`${billing}.Invoice:no-such-event`)).toBeUndefined();
    });

    it('deletes one dead letter by id; every other stays stored, in order', async () => {
      const target = `${shipping}.Label:${placedId}`;
      const orderBefore = (await ours(billingBus)).map((entry) => entry.id).filter((id) => id !== target);
      const report = await billingBus.deadLetters.delete([target, `${shipping}.Label:missing`]);
      expect(report).toEqual({ deleted: 1, missing: [`${shipping}.Label:missing`] });
      expect((await ours(billingBus)).map((entry) => entry.id)).toEqual(orderBefore);
      expect(await billingBus.deadLetters.get(target)).toBeUndefined();
    });

    it('a removal that fails midway leaves every dead letter it did not remove', async () => {
      const transport = billingBus.transport;
      if (!canRemoveDeadLetters(transport)) throw new Error('the transport cannot remove dead letters');
      const count = (await ours(billingBus)).length;
      let seen = 0;
      await expect(
        transport.removeDeadLetters(() => {
          if (++seen === 1) return false;
          throw new Error('select failed');
        }),
      ).rejects.toThrow('select failed');
      expect((await ours(billingBus)).length).toBe(count);
    });

    it('replays a dead letter to the handler that gave up, with provenance, and removes it from the store', async () => {
      invoicingUp = true;
      const id = `${billing}.Invoice:${placedId}`;
      const labelsBefore = labels.received.length;
      const report = await billingBus.deadLetters.replay(id);
      expect(report.replayed).toHaveLength(1);
      expect(report).toMatchObject({ failed: [], missing: [], removed: 1 });
      await invoices.waitForCount(2, await timeout());
      const replayed = invoices.received[1]!.cloudEvent;
      expect(replayed.id).toBe(report.replayed[0]!.eventId);
      expect(replayed.id).not.toBe(placedId);
      expect(replayed.causationid).toBe(placedId);
      expect(replayed['replayfor']).toBe(`${billing}.Invoice`);
      expect(await billingBus.deadLetters.get(id)).toBeUndefined();
      // The other subscription of the type acks the replay untouched: no new dead letter for it.
      expect(labels.received.length).toBe(labelsBefore);
      expect((await ours(billingBus)).map((entry) => entry.id)).toEqual([`${shipping}.Void:${cancelledId}`]);
    });

    it('deletes by filter, and reports ids that match nothing', async () => {
      expect(await billingBus.deadLetters.delete({ service: shipping })).toEqual({ deleted: 1, missing: [] });
      expect(await ours(billingBus)).toEqual([]);
      expect(await billingBus.deadLetters.replay(['nobody.Nothing:x'])).toEqual({ replayed: [], failed: [], missing: ['nobody.Nothing:x'], removed: 0 });
    });
  });
}

import { randomUUID } from 'node:crypto';

import { afterEach, describe, expect, it } from 'vitest';

import { toDeadLetterMessage } from '../dead-letter/dead-letter-message.js';
import { deadLetterRecordOf } from '../dead-letter/dead-letter-record.js';
import { encodeCloudEvent } from '../envelope/wire-codec.js';
import { PublishError } from '../errors.js';
import { canReadDeadLetters, type Delivery, type OutgoingMessage, type Subscription, type Transport } from '../transport/transport.js';
import type { ContractHarness } from './transport-contract.js';
import { eventually, sleep } from './waiting.js';

/** What a case received on a subscription, unsettled until the case settles it. */
interface Received {
  readonly delivery: Delivery;
  readonly id: string;
  readonly at: number;
}

/**
 * The contract at the `Transport` level, below the bus: what core relies on from every transport
 * (the concurrency limit, a nack delay kept by the broker, hand-back on close, `PublishError`'s
 * ids, the dead letter's original destination). Registered by `transportContract`.
 */
export function transportLevelCases(name: string, harness: () => Promise<ContractHarness>, run: string): void {
  describe(`at the Transport level: ${name}`, () => {
    const open: Transport[] = [];
    let sequence = 0;

    const timeout = async () => (await harness()).timeoutMs ?? 10_000;

    afterEach(async () => {
      for (const transport of open.splice(0)) await transport.close().catch(() => undefined);
    });

    async function connected(options?: { readonly publishTimeoutMs?: number }): Promise<Transport> {
      const transport = await (await harness()).createTransport(options);
      open.push(transport);
      await transport.connect();
      return transport;
    }

    /** A type and a subscription name unique to this case. */
    function names(): { readonly type: string; readonly subscription: string } {
      const n = ++sequence;
      return { type: `dev.cloudbus.contract.${run}.raw${n}`, subscription: `${run}-raw${n}.Consumer` };
    }

    function messages(transport: Transport, type: string, count: number): OutgoingMessage[] {
      const mode = transport.capabilities.binaryMode ? 'binary' : 'structured';
      return Array.from({ length: count }, (_, i) => {
        const id = `${i}-${randomUUID()}`;
        return { id, type, message: encodeCloudEvent({ specversion: '1.0', id, source: '/contract', type, datacontenttype: 'application/json', data: { n: i } }, mode) };
      });
    }

    async function subscribe(transport: Transport, subscription: string, type: string, concurrency: number, received: Received[]): Promise<Subscription> {
      return transport.subscribe({ name: subscription, types: [type], concurrency }, (delivery) => {
        const id = delivery.message.headers['id'] ?? idInBody(delivery.message.body);
        received.push({ delivery, id, at: Date.now() });
      });
    }

    it('hands a subscriber no more unsettled deliveries than its concurrency', async () => {
      const { type, subscription } = names();
      const transport = await connected();
      const received: Received[] = [];
      await subscribe(transport, subscription, type, 3, received);
      await transport.publish(messages(transport, type, 10));
      await eventually(async () => (received.length >= 3 ? true : undefined), await timeout(), '3 deliveries');
      await sleep(300);
      expect(received).toHaveLength(3);
      let settled = 0;
      let mostUnsettled = 0;
      while (settled < 10) {
        await eventually(async () => (received.length > settled ? true : undefined), await timeout(), `delivery ${settled + 1}`);
        mostUnsettled = Math.max(mostUnsettled, received.length - settled);
        await received[settled]!.delivery.ack();
        settled++;
      }
      await sleep(200);
      expect(new Set(received.map((r) => r.id)).size).toBe(10);
      expect(received).toHaveLength(10);
      expect(mostUnsettled).toBeLessThanOrEqual(3);
    });

    it('keeps a nack delay on the broker: another subscriber gets the message no sooner, as the next attempt', async (context) => {
      const { type, subscription } = names();
      const first = await connected();
      if (!first.capabilities.nativeDelayedRedelivery) context.skip('the broker cannot hold a nack delay (capabilities.nativeDelayedRedelivery)');
      const received: Received[] = [];
      await subscribe(first, subscription, type, 1, received);
      await first.publish(messages(first, type, 1));
      await eventually(async () => received[0], await timeout(), 'the first delivery');
      const nackedAt = Date.now();
      await received[0]!.delivery.nack(3_000);
      // The process that asked for the delay goes away: only the broker can keep it.
      await first.close();
      open.splice(open.indexOf(first), 1);

      const second = await connected();
      const again: Received[] = [];
      await subscribe(second, subscription, type, 1, again);
      const redelivery = await eventually(async () => again[0], (await timeout()) + 3_000, 'the delayed redelivery');
      expect(redelivery.id).toBe(received[0]!.id);
      expect(redelivery.delivery.attempt).toBe(2);
      expect(redelivery.at - nackedAt).toBeGreaterThanOrEqual(2_900);
      await redelivery.delivery.ack();
    });

    it('hands unsettled deliveries back on close, for the next subscriber', async () => {
      const { type, subscription } = names();
      const first = await connected();
      const received: Received[] = [];
      await subscribe(first, subscription, type, 5, received);
      await first.publish(messages(first, type, 3));
      await eventually(async () => (received.length >= 3 ? true : undefined), await timeout(), '3 deliveries');
      await first.close();
      open.splice(open.indexOf(first), 1);

      const second = await connected();
      const again: Received[] = [];
      await subscribe(second, subscription, type, 5, again);
      await eventually(async () => (again.length >= 3 ? true : undefined), await timeout(), 'the 3 handed back');
      expect(again.map((r) => r.id).sort()).toEqual(received.map((r) => r.id).sort());
      expect(again.every((r) => r.delivery.attempt >= 2)).toBe(true);
      for (const r of again) await r.delivery.ack();
    });

    it('rejects a publish the broker has not accepted with a PublishError listing exactly those ids', async (context) => {
      const given = await harness();
      if (given.cutNetwork === undefined || given.restoreNetwork === undefined) context.skip('no network to cut (harness.cutNetwork)');
      const { type, subscription } = names();
      const transport = await connected({ publishTimeoutMs: 1_500 });
      const received: Received[] = [];
      await subscribe(transport, subscription, type, 10, received);
      await transport.publish(messages(transport, type, 1));
      await eventually(async () => received[0], await timeout(), 'a delivery before the cut');
      await received[0]!.delivery.ack();

      await given.cutNetwork!();
      const batch = messages(transport, type, 3);
      let error: unknown;
      try {
        await transport.publish(batch);
      } catch (caught) {
        error = caught;
      } finally {
        await given.restoreNetwork!();
      }
      expect(error).toBeInstanceOf(PublishError);
      expect([...(error as PublishError).unconfirmed].sort()).toEqual(batch.map((m) => m.id).sort());

      // Back to normal once the network is: the next publish is accepted and delivered.
      const next = messages(transport, type, 1);
      await eventually(
        async () => transport.publish(next).then(() => true, () => undefined),
        (await timeout()) * 3,
        'a publish accepted after the network is back',
      );
      await eventually(async () => received.find((r) => r.id === next[0]!.id), (await timeout()) * 3, 'its delivery');
    });

    it('names the original destination on the delivery and on its dead letter', async () => {
      const given = await harness();
      const { type, subscription } = names();
      const transport = await connected();
      if (!canReadDeadLetters(transport)) throw new Error(`${name} cannot list dead letters: implement DeadLetterReader.`);
      const received: Received[] = [];
      await subscribe(transport, subscription, type, 1, received);
      const [outgoing] = messages(transport, type, 1);
      await transport.publish([outgoing!]);
      const delivery = (await eventually(async () => received[0], await timeout(), 'the delivery')).delivery;
      expect(delivery.destination).toBe(given.destinationOf(type));
      // As the bus does: the original with its failure record.
      const record = deadLetterRecordOf(delivery, { reason: 'non-retryable', handler: subscription, attempts: 1, error: new Error('contract') });
      await delivery.deadLetter(toDeadLetterMessage(delivery.message, undefined, record));
      const stored = await eventually(
        async () => (await transport.readDeadLetters()).find((letter) => (letter.message.headers['id'] ?? idInBody(letter.message.body)) === outgoing!.id),
        await timeout(),
        'the dead letter',
      );
      expect(stored.destination).toBe(given.destinationOf(type));
    });
  });
}

/** The `id` of a structured-mode message (the transports without headers), or ''. */
function idInBody(body: Uint8Array): string {
  try {
    const parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8')) as { id?: unknown };
    return typeof parsed.id === 'string' ? parsed.id : '';
  } catch {
    return '';
  }
}

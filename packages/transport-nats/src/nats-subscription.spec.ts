import { silentLogger } from '@cloudbus/core';
import { type Delivery } from '@cloudbus/core/transport';
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';

import { NatsSubscription } from './nats-subscription.js';

/**
 * The pull-request accounting of a subscription, against a connection that records the pull
 * requests and lets the test answer them as the server would (messages, 408 status). What travels
 * over a real server is covered by nats-delivery.int.spec.ts.
 */
class FakeConnection {
  readonly requests: { reply: string; batch: number }[] = [];
  closed = false;
  #inbox: ((error: Error | null, msg: Msg) => void) | undefined;
  #sequence = 0;

  subscribe(_subject: string, options: { callback: (error: Error | null, msg: Msg) => void }) {
    this.#inbox = options.callback;
    return { unsubscribe: () => {} };
  }

  publish(_subject: string, data: string, options: { reply: string }): void {
    this.requests.push({ reply: options.reply, batch: (JSON.parse(data) as { batch: number }).batch });
  }

  isClosed(): boolean {
    return this.closed;
  }

  isDraining(): boolean {
    return false;
  }

  /** Messages asked for by all requests so far. */
  get asked(): number {
    return this.requests.reduce((sum, request) => sum + request.batch, 0);
  }

  /** The server delivers one message (on some open request: it shares them out in turn). */
  deliver(): void {
    const sequence = ++this.#sequence;
    const msg = {
      subject: 'orders.placed',
      reply: `$JS.ACK.S.C.1.${sequence}.${sequence}.1700000000000000000.0`,
      data: new TextEncoder().encode('{}'),
      headers: undefined,
      respond: () => true,
    };
    this.#inbox!(null, msg as unknown as Msg);
  }

  /** The server ends request `reply` with a 408 (expired), saying how many messages it still owed. */
  expire(reply: string, pending: number): void {
    const headers = { code: 408, description: 'Request Timeout', get: (name: string) => (name === 'Nats-Pending-Messages' ? String(pending) : '') };
    this.#inbox!(null, { subject: reply, reply: undefined, data: new Uint8Array(), headers } as unknown as Msg);
  }
}

const opened: { nc: FakeConnection; subscription: NatsSubscription }[] = [];

function subscribe(concurrency: number, onDelivery: (delivery: Delivery) => void): { nc: FakeConnection; subscription: NatsSubscription } {
  const nc = new FakeConnection();
  const subscription = new NatsSubscription(
    {
      nc: nc as unknown as NatsConnection,
      pullSubject: '$JS.API.CONSUMER.MSG.NEXT.S.C',
      ackWaitMs: 30_000,
      logger: silentLogger,
      storeDeadLetter: () => Promise.resolve(),
      closed: () => {},
    },
    { name: 'svc.Handler', types: ['t'], concurrency },
    onDelivery,
  );
  opened.push({ nc, subscription });
  return { nc, subscription };
}

afterEach(async () => {
  for (const { nc, subscription } of opened.splice(0)) {
    nc.closed = true; // nothing to wait for: no server holds these requests
    await subscription.close();
  }
});

describe('nats subscription pull requests', () => {
  it('asks again before the open request runs out, so a request always waits on the server while messages flow', () => {
    const { nc } = subscribe(8, (delivery) => void delivery.ack());
    expect(nc.requests).toEqual([{ reply: expect.any(String), batch: 8 }]);
    for (let i = 0; i < 3; i++) nc.deliver();
    expect(nc.requests).toHaveLength(1); // 3 free slots: not worth a request while 5 are still owed
    nc.deliver();
    // Half the slots free: asked for now, while the first request still owes 4.
    expect(nc.requests.map((request) => request.batch)).toEqual([8, 4]);
    for (let i = 0; i < 4; i++) nc.deliver();
    expect(nc.asked - 8).toBe(8); // 8 delivered and acked: every slot is asked for again, none twice
  });

  it('never asks for more messages than it has slots neither taken nor already asked for', () => {
    const held: Delivery[] = [];
    const { nc, subscription } = subscribe(8, (delivery) => void held.push(delivery));
    let delivered = 0;
    // Owed by the server (asked for, not delivered yet) plus held by the handler: at most the concurrency.
    const check = () => expect(nc.asked - delivered + subscription.unsettled).toBeLessThanOrEqual(8);
    for (let i = 0; i < 8; i++) {
      nc.deliver();
      delivered++;
      check();
    }
    expect(subscription.unsettled).toBe(8);
    expect(nc.asked).toBe(8); // all slots taken by the handler: nothing asked for
    void held.shift()!.ack();
    expect(nc.asked).toBe(9); // one slot freed and no request open: asked for at once
    delivered++;
    nc.deliver();
    check();
    for (const delivery of held.splice(0, 3)) {
      void delivery.ack();
      check();
    }
    // The first slot freed with nothing owed is asked for at once; the next two wait until half the slots are free.
    expect(nc.asked).toBe(10);
  });

  it('counts what an expired request still owed from its 408, and asks for those slots again', () => {
    const { nc } = subscribe(8, (delivery) => void delivery.ack());
    for (let i = 0; i < 4; i++) nc.deliver(); // second request, for 4
    for (let i = 0; i < 2; i++) nc.deliver();
    expect(nc.requests.map((request) => request.batch)).toEqual([8, 4]);
    // Both expire: the server shared the 6 messages out, so the first still owed 4 and the second 2.
    nc.expire(nc.requests[0]!.reply, 4);
    expect(nc.requests.map((request) => request.batch)).toEqual([8, 4, 6]); // 6 free, 2 still owed: asked for
    nc.expire(nc.requests[1]!.reply, 2);
    expect(nc.requests.map((request) => request.batch)).toEqual([8, 4, 6]); // 2 free while 6 are owed: not yet
    // A 408 about a request already counted as ended changes nothing.
    nc.expire(nc.requests[0]!.reply, 4);
    expect(nc.requests).toHaveLength(3);
    for (let i = 0; i < 2; i++) nc.deliver();
    expect(nc.requests.map((request) => request.batch)).toEqual([8, 4, 6, 4]);
  });
});

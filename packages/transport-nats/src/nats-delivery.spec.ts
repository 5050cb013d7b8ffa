import { DeliveryLostError, SETTLED } from '@cloudbus/core/transport';
import type { Msg } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';

import { NatsDelivery, type DeliveryOwner } from './nats-delivery.js';

function delivery(respond: (payload: Uint8Array) => boolean): { delivery: NatsDelivery; sent: string[]; released: number[] } {
  const sent: string[] = [];
  const released: number[] = [];
  const msg = { subject: 'orders.placed', respond: (payload: Uint8Array) => (sent.push(new TextDecoder().decode(payload)), respond(payload)) } as unknown as Msg;
  const owner: DeliveryOwner = {
    released: () => void released.push(1),
    storeDeadLetter: () => Promise.resolve(),
    warn: () => {},
  };
  return { delivery: new NatsDelivery(msg, { headers: {}, contentType: undefined, body: new Uint8Array() }, 1, 0, 1, owner), sent, released };
}

describe('a NATS delivery', () => {
  it('acks and nacks synchronously, returning core SETTLED so the handler runner waits for nothing', () => {
    const acked = delivery(() => true);
    expect(acked.delivery.ack()).toBe(SETTLED);
    expect(acked.sent).toEqual(['+ACK']);
    expect(acked.delivery.ack()).toBe(SETTLED);
    expect(acked.sent).toEqual(['+ACK']);
    const nacked = delivery(() => true);
    expect(nacked.delivery.nack(250)).toBe(SETTLED);
    expect(nacked.sent).toEqual(['-NAK {"delay":250000000}']);
    expect(nacked.released).toEqual([1]);
  });

  it('rejects with DeliveryLostError when the connection it came on is closed', async () => {
    const lost = delivery(() => {
      throw new Error('closed');
    });
    await expect(lost.delivery.ack()).rejects.toBeInstanceOf(DeliveryLostError);
    expect(lost.delivery.unsettled).toBe(false);
  });
});

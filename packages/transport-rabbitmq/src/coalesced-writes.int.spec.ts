import type { Socket } from 'node:net';

import { brokerUrl, uniqueName } from '@cloudbus/test/brokers';
import { connect } from 'amqplib';
import { describe, expect, it } from 'vitest';

import { coalesceWrites } from './coalesced-writes.js';

const url = brokerUrl('rabbitmq');

describe.skipIf(!url)('coalesced socket writes', () => {
  it('sends a batch of publishes in a handful of socket writes instead of one per message, and every message arrives', async () => {
    const model = await connect(url!);
    model.on('error', () => {});
    const queue = uniqueName('cbw');
    try {
      // Fails when an amqplib upgrade moves the internals this relies on: frames would go out one write each again.
      expect(coalesceWrites(model)).toBe(true);
      const socket = (model.connection as unknown as { stream: Socket }).stream;
      const channel = await model.createConfirmChannel();
      await channel.assertQueue(queue, { exclusive: true });
      let writes = 0;
      for (const method of ['_write', '_writev'] as const) {
        const original = socket[method] as (...args: unknown[]) => unknown;
        (socket as unknown as Record<string, unknown>)[method] = function counted(this: Socket, ...args: unknown[]) {
          writes++;
          return original.apply(this, args);
        };
      }
      const count = 200;
      for (let i = 0; i < count; i++) channel.sendToQueue(queue, Buffer.from(`m-${i}`));
      await channel.waitForConfirms();
      expect(writes).toBeLessThan(10);
      expect((await channel.checkQueue(queue)).messageCount).toBe(count);
    } finally {
      await model.close();
    }
  });
});

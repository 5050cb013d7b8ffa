import { describe, expect, it } from 'vitest';

import {
  ConfigurationError,
  DeadLetters,
  DeadLettersUnsupportedError,
  MemoryBroker,
  MemoryTransport,
  deadLetterId,
  encodeCloudEvent,
  type Transport,
} from '../index.js';

describe('DeadLetters', () => {
  const memory = (broker: MemoryBroker) => {
    const transport = new MemoryTransport({ broker });
    return new DeadLetters(() => transport, () => Promise.resolve());
  };

  it('rejects a filter with an unknown reason or an invalid date, naming the valid reasons', async () => {
    const deadLetters = memory(new MemoryBroker());
    await expect(deadLetters.list({ reason: 'bored' as never })).rejects.toThrow(/Unknown dead-letter reason 'bored'; use one of retries-exhausted/);
    await expect(deadLetters.list({ from: new Date('not a date') })).rejects.toBeInstanceOf(ConfigurationError);
  });

  it('tells that a transport without a dead-letter store cannot be managed', async () => {
    const bare = { name: 'custom' } as unknown as Transport;
    const deadLetters = new DeadLetters(() => bare, () => Promise.resolve());
    await expect(deadLetters.list()).rejects.toThrow(DeadLettersUnsupportedError);
    await expect(deadLetters.delete('x')).rejects.toThrow(/custom transport cannot remove single dead letters/);
  });

  it('gives a stored message that is not a CloudEvent a stable id from its bytes, and can delete it', async () => {
    const broker = new MemoryBroker();
    broker.storeDeadLetter({ headers: { deadletterreason: 'invalid', deadletterhandler: 'svc.H' }, body: new TextEncoder().encode('not json') }, 'x');
    broker.storeDeadLetter({ headers: { deadletterreason: 'invalid', deadletterhandler: 'svc.H' }, body: new TextEncoder().encode('other') }, 'x');
    const deadLetters = memory(broker);
    const [first, second] = await deadLetters.list();
    expect(first!.id).toMatch(/^svc\.H:raw-[0-9a-f]{16}$/);
    expect(first!.id).not.toBe(second!.id);
    expect((await deadLetters.list())[0]!.id).toBe(first!.id);
    expect(await deadLetters.replay(first!.id)).toMatchObject({ replayed: [], failed: [{ id: first!.id }], removed: 0 });
    expect(await deadLetters.delete(first!.id)).toEqual({ deleted: 1, missing: [] });
    expect((await deadLetters.list()).map((entry) => entry.id)).toEqual([second!.id]);
  });

  it('names a dead letter after the handler that gave up and the event id', () => {
    const message = encodeCloudEvent({ specversion: '1.0', id: 'e-1', source: '/s', type: 't' }, 'binary');
    expect(deadLetterId({ message, cloudEvent: { specversion: '1.0', id: 'e-1', source: '/s', type: 't' }, record: undefined })).toBe('unknown:e-1');
  });
});

import { randomUUID } from 'node:crypto';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { MqttFixture, mqttUrl } from './mqtt-fixture.js';

/** The fixture's own promises, which the contract suite relies on. */
describe.skipIf(!mqttUrl)('mqtt test fixture', () => {
  const fixture = new MqttFixture('cbfixture', { reconnectMinDelayMs: 50, reconnectMaxDelayMs: 200 });

  beforeAll(() => fixture.start());
  afterEach(() => fixture.reset());
  afterAll(() => fixture.cleanup());

  it('cuts its transports off the broker and lets them reconnect, leaving foreign clients alone', async () => {
    const transport = await fixture.open();
    const type = `dev.cloudbus.${fixture.run}.line.cooked`;
    const message = { headers: {}, contentType: 'text/plain', body: Buffer.from('x') };
    await fixture.cutNetwork();
    await expect.poll(() => transport.connectionState).toBe('reconnecting');
    expect(await fixture.injectRaw(type, message)).toBe(true);
    await fixture.restoreNetwork();
    await expect.poll(() => transport.connectionState).toBe('connected');
    await expect(transport.publish([{ id: randomUUID(), type, message }])).resolves.toBeUndefined();
  });

  it('names the event topic as a dead letter destination', () => {
    expect(fixture.destinationOf('a.b.c')).toBe(`${fixture.prefix}/a/b/c`);
  });
});

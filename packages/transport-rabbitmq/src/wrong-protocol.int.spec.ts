import { EventBus, silentLogger } from '@cloudbus/core';
import { brokerUrl } from '@cloudbus/test/brokers';
import { describe, expect, it } from 'vitest';

import { RabbitMqConnectionError } from './rabbitmq-errors.js';
import './index.js';

const nats = brokerUrl('nats');
const mqtt = brokerUrl('mqtt');
const rabbitmq = brokerUrl('rabbitmq');

describe.skipIf(!nats || !mqtt)('an AMQP URL pointed at another broker', () => {
  it('says that the NATS port is no AMQP broker', async () => {
    const bus = new EventBus({ service: 'wrong-port', transport: 'rabbitmq', url: `amqp://${new URL(nats!).host}`, logger: silentLogger });
    const error = await bus.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RabbitMqConnectionError);
    expect(String(error)).toMatch(/is not an AMQP 0-9-1 broker: it answered like a NATS server/);
  });

  it('says that the MQTT port is no AMQP broker', async () => {
    const bus = new EventBus({ service: 'wrong-port', transport: 'rabbitmq', url: `amqp://${new URL(mqtt!).host}`, logger: silentLogger });
    const error = await bus.start().catch((e: unknown) => e);
    expect(String(error)).toMatch(/is not an AMQP 0-9-1 broker: it answered like an MQTT broker/);
  });
});

describe.skipIf(!rabbitmq)('a virtual host that does not exist', () => {
  it('is named, instead of the raw AMQP frame', async () => {
    const url = new URL(rabbitmq!);
    url.pathname = `/no-such-vhost-${Date.now().toString(36)}`;
    const bus = new EventBus({ service: 'wrong-vhost', transport: 'rabbitmq', url: url.href, logger: silentLogger });
    const error = await bus.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RabbitMqConnectionError);
    expect(String(error)).toMatch(/virtual host 'no-such-vhost-[a-z0-9]+' does not exist or access is refused/);
    expect(String(error)).not.toMatch(/ConnectionClose|ConnectionOpenOk/);
  });
});

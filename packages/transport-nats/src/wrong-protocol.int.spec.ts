import { EventBus, silentLogger } from '@cloudbus/core';
import { brokerUrl } from '@cloudbus/test/brokers';
import { describe, expect, it } from 'vitest';

import { NatsConnectionError } from './nats-errors.js';
import './index.js';

const mqtt = brokerUrl('mqtt');
const rabbitmq = brokerUrl('rabbitmq');

describe.skipIf(!mqtt || !rabbitmq)('a NATS URL pointed at another broker', () => {
  it('says at once that the MQTT port is no NATS server, instead of "timeout" after 10 s', async () => {
    const bus = new EventBus({ service: 'wrong-port', transport: 'nats', url: `nats://${new URL(mqtt!).host}`, logger: silentLogger });
    const error = await bus.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NatsConnectionError);
    expect(String(error)).toMatch(/is not a NATS server: it answered like an MQTT broker/);
  });

  it('says that the AMQP port is no NATS server', async () => {
    const bus = new EventBus({ service: 'wrong-port', transport: 'nats', url: `nats://${new URL(rabbitmq!).host}`, logger: silentLogger });
    const error = await bus.start().catch((e: unknown) => e);
    expect(String(error)).toMatch(/is not a NATS server: it answered like an AMQP 0-9-1 broker/);
  });
});

import { EventBus, silentLogger } from '@cloudbus/core';
import { brokerUrl } from '@cloudbus/test/brokers';
import { describe, expect, it } from 'vitest';

import { MqttConnectError } from './mqtt-errors.js';
import './index.js';

const nats = brokerUrl('nats');
const rabbitmq = brokerUrl('rabbitmq');

describe.skipIf(!nats || !rabbitmq)('an MQTT URL pointed at another broker', () => {
  it('says that the NATS port is no MQTT broker, instead of a packet parse error', async () => {
    const bus = new EventBus({ service: 'wrong-port', transport: 'mqtt', url: `mqtt://${new URL(nats!).host}`, logger: silentLogger });
    const error = await bus.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MqttConnectError);
    expect(String(error)).toMatch(/is not an MQTT broker: it answered like a NATS server/);
  });

  it('says that the AMQP port is no MQTT broker', async () => {
    const bus = new EventBus({ service: 'wrong-port', transport: 'mqtt', url: `mqtt://${new URL(rabbitmq!).host}`, logger: silentLogger });
    const error = await bus.start().catch((e: unknown) => e);
    expect(String(error)).toMatch(/is not an MQTT broker: it answered like an AMQP 0-9-1 broker/);
  });
});

import { ConfigurationError, EventBus, cloudbus, createTransport } from '@cloudbus/core';
import { describe, expect, it } from 'vitest';

import { RabbitMqTransport } from './index.js';

describe("the 'rabbitmq' registration", () => {
  it('creates the transport by name, with the URL, the transport options and the service as connection name', async () => {
    const transport = await createTransport('rabbitmq', { url: 'amqps://rabbit.example.com', service: 'pizzeria', options: { queueType: 'classic' } });
    expect(transport).toBeInstanceOf(RabbitMqTransport);
    const { options } = transport as RabbitMqTransport;
    expect(options).toMatchObject({ protocol: 'amqps', hostname: 'rabbit.example.com', port: 5671, queueType: 'classic', connectionName: 'pizzeria' });
    expect(transport.capabilities).toEqual({
      maxMessageBytes: 16 * 1024 * 1024,
      // amqplib encodes a message's properties in a 64 KiB buffer: dead letters are trimmed to fit.
      maxHeaderBytes: 56_000,
      binaryMode: true,
      nativeDelayedRedelivery: true,
      publishDeduplication: false,
      ordered: true,
      durable: true,
    });
  });

  it('uses amqp://localhost:5672 only when no URL is given', async () => {
    const transport = (await createTransport('rabbitmq', { service: 's', options: {} })) as RabbitMqTransport;
    expect(transport.options.endpoint).toBe('amqp://localhost:5672/%2F');
  });

  it('refuses bad options with a ConfigurationError before connecting', async () => {
    await expect(createTransport('rabbitmq', { url: 'amqp://h', service: 's', options: { prefetch: 10 } })).rejects.toThrow(ConfigurationError);
  });
});

describe('a bus naming the rabbitmq transport', () => {
  it('refuses bad transportOptions at construction, not at start()', () => {
    expect(() => new EventBus({ service: 's', transport: 'rabbitmq', url: 'amqp://h', transportOptions: { prefetch: 10 } })).toThrow(ConfigurationError);
    expect(() => cloudbus({ service: 's', transport: 'rabbitmq', url: 'amqp://h', transportOptions: { prefetch: 10 } })).toThrow(ConfigurationError);
  });
});

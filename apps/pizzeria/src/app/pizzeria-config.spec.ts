import { ConfigurationError } from '@cloudbus/core';
import { describe, expect, it } from 'vitest';

import { parsePizzeriaConfig } from './pizzeria-config.js';

describe('pizzeria configuration', () => {
  it('defaults to the embedded set-up: memory transport, SQLite file, kitchen in-process, port 3000', () => {
    expect(parsePizzeriaConfig([], {})).toEqual({
      options: {
        transport: 'memory',
        kitchenDevices: 'in-process',
        bakeTimeMs: 3000,
        database: 'pizzeria.db',
        smsFailureRate: 0,
        paymentTimeoutMs: 900_000,
        deliveryPromiseMs: 2_700_000,
        allowedHosts: ['127.0.0.1', 'localhost', '::1'],
      },
      port: 3000,
      host: '127.0.0.1',
    });
  });

  it('takes the transport and URL from CLOUDBUS_TRANSPORT / CLOUDBUS_URL, and flags over the environment', () => {
    const env = { CLOUDBUS_TRANSPORT: 'nats', CLOUDBUS_URL: 'nats://broker:4222', PORT: '8080' };
    const fromEnv = parsePizzeriaConfig([], env);
    expect(fromEnv).toMatchObject({ options: { transport: 'nats', url: 'nats://broker:4222' }, port: 8080 });
    expect(parsePizzeriaConfig(['--', '--transport', 'mqtt'], {})).toMatchObject({ options: { transport: 'mqtt' } });
    const fromFlags = parsePizzeriaConfig(['--transport', 'rabbitmq', '--url', 'amqp://h:5672', '--port', '0', '--db', 'postgres://db/pizza', '--bake-time', '100'], env);
    expect(fromFlags).toMatchObject({
      options: { transport: 'rabbitmq', url: 'amqp://h:5672', database: 'postgres://db/pizza', bakeTimeMs: 100 },
      port: 0,
    });
  });

  it('publishes telemetry for the inspector with --telemetry, and otherwise leaves it to CLOUDBUS_TELEMETRY', () => {
    expect(parsePizzeriaConfig(['--telemetry'], {})).toMatchObject({ options: { publishTelemetry: true } });
    const config = parsePizzeriaConfig([], { CLOUDBUS_TELEMETRY: '1' });
    expect(config !== 'help' && 'publishTelemetry' in config.options).toBe(false);
  });

  it('answers to the loopback names, the --host name and --allowed-hosts', () => {
    expect(parsePizzeriaConfig(['--host', 'pizza.local', '--allowed-hosts', 'shop.example, 10.0.0.7'], {})).toMatchObject({
      options: { allowedHosts: ['127.0.0.1', 'localhost', '::1', 'pizza.local', 'shop.example', '10.0.0.7'] },
    });
    expect(parsePizzeriaConfig(['--host', '0.0.0.0'], { PIZZERIA_ALLOWED_HOSTS: 'pizza.lan' })).toMatchObject({
      options: { allowedHosts: ['127.0.0.1', 'localhost', '::1', '0.0.0.0', 'pizza.lan'] },
    });
  });

  it('refuses bad values with a message naming the flag', () => {
    expect(() => parsePizzeriaConfig(['--port', 'eighty'], {})).toThrow(new ConfigurationError(`--port: 'eighty' is not valid. Run with --help.`));
    expect(() => parsePizzeriaConfig(['--kitchen', 'somewhere'], {})).toThrow(/--kitchen/);
    expect(() => parsePizzeriaConfig(['--sms-failure-rate', '2'], {})).toThrow(/--sms-failure-rate/);
    expect(() => parsePizzeriaConfig(['--transport', 'Rabbit MQ'], {})).toThrow(/--transport/);
    expect(() => parsePizzeriaConfig(['--unknown'], {})).toThrow();
    expect(() => parsePizzeriaConfig(['--transport-options', '{exchange:1}'], {})).toThrow(/--transport-options: not JSON/);
    expect(parsePizzeriaConfig(['--kitchen-transport-options', '{"topicPrefix":"store-12"}'], {})).toMatchObject({
      options: { kitchenTransportOptions: { topicPrefix: 'store-12' } },
    });
  });
});

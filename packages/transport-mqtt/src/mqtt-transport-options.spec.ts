import { inspect } from 'node:util';

import { BrokerConnectionError, ConfigurationError, createTransport, DeliveryLostError, NotConnectedError } from '@cloudbus/core';
import { describe, expect, it } from 'vitest';

import './index.js';
import { MqttConnectError, MqttConnectionLostError } from './mqtt-errors.js';
import { MqttTransport } from './mqtt-transport.js';
import { resolveMqttOptions } from './mqtt-transport-options.js';

describe('mqtt transport options', () => {
  it('defaults to MQTT 5 on mqtt://localhost:1883, binary mode possible but structured preferred, and a 1 MiB limit', () => {
    const transport = new MqttTransport();
    expect(transport.options).toMatchObject({ url: 'mqtt://localhost:1883', protocolVersion: 5, topicPrefix: 'cloudbus', receiveMaximum: 4096 });
    expect(transport.capabilities).toEqual({
      maxMessageBytes: 1_048_576,
      binaryMode: true,
      preferredContentMode: 'structured',
      nativeDelayedRedelivery: true,
      publishDeduplication: false,
      ordered: true,
      durable: true,
    });
  });

  it('is structured-only on MQTT 3.1.1', () => {
    expect(new MqttTransport({ protocolVersion: 4 }).capabilities).toMatchObject({ binaryMode: false, preferredContentMode: 'structured' });
  });

  it('accepts mqtt, mqtts, ws and wss URLs, and takes credentials out of the URL', () => {
    for (const url of ['mqtt://h:1883', 'mqtts://h:8883', 'ws://h/mqtt', 'wss://h/mqtt']) expect(() => resolveMqttOptions({ url })).not.toThrow();
    const resolved = resolveMqttOptions({ url: 'mqtts://oven%40rome:s3cr%2Ft@broker:8883' });
    expect(resolved).toMatchObject({ url: 'mqtts://broker:8883', username: 'oven@rome', protocol: 'mqtts' });
    expect(resolved.password).toBe('s3cr/t');
    expect(JSON.stringify(resolved)).not.toContain('s3cr');
    expect(inspect(resolved)).not.toContain('s3cr');
  });

  it('refuses bad options with a ConfigurationError that says how to fix them, never showing a password', () => {
    expect(() => resolveMqttOptions({ url: 'amqp://user:hunter2@h' })).toThrow(ConfigurationError);
    expect(() => resolveMqttOptions({ url: 'amqp://user:hunter2@h' })).toThrow(/use mqtt:\/\/, mqtts:\/\/, ws:\/\/ or wss:\/\//);
    try {
      resolveMqttOptions({ url: 'amqp://user:hunter2@h' });
    } catch (error) {
      expect(String((error as Error).message)).not.toContain('hunter2');
    }
    expect(() => resolveMqttOptions({ url: 'not a url :hunter2' })).toThrow(ConfigurationError);
    expect(() => resolveMqttOptions({ protocolVersion: 3 as 4 })).toThrow(/protocolVersion must be 5/);
    expect(() => resolveMqttOptions({ topicPrefix: 'a/+' })).toThrow(/topicPrefix/);
    expect(() => resolveMqttOptions({ receiveMaximum: 0 })).toThrow(/receiveMaximum must be an integer from 1 to 65535/);
    expect(() => resolveMqttOptions({ maxMessageBytes: 10 })).toThrow(/maxMessageBytes/);
  });

  it('is registered as mqtt, taking the URL and service from the bus', async () => {
    const transport = await createTransport('mqtt', { url: 'mqtt://127.0.0.1:1', service: 'kitchen', options: { topicPrefix: 'store1' } });
    expect(transport).toBeInstanceOf(MqttTransport);
    expect((transport as MqttTransport).options).toMatchObject({ url: 'mqtt://127.0.0.1:1', service: 'kitchen', topicPrefix: 'store1' });
    await expect(createTransport('mqtt', { url: 'http://x', service: 's', options: {} })).rejects.toBeInstanceOf(ConfigurationError);
  });

  it('fails to connect with a clear error that does not hold the password', async () => {
    const transport = new MqttTransport({ url: 'mqtt://oven:hunter2@127.0.0.1:1', connectTimeoutMs: 2_000 });
    const error = (await transport.connect().catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(MqttConnectError);
    expect(error).toBeInstanceOf(BrokerConnectionError);
    expect(error.message).toMatch(/cannot connect to mqtt:\/\/127\.0\.0\.1:1/);
    expect(error.message).not.toContain('hunter2');
    await transport.close();
  });

  it('refuses an unknown option or TLS setting, naming the ones it knows', () => {
    expect(() => resolveMqttOptions({ topicPrefx: 'x' } as never)).toThrow(/mqtt transport: topicPrefx is not a known option; use .*topicPrefix/);
    expect(() => resolveMqttOptions({ tls: { servername: 'h' } } as never)).toThrow(/tls\.servername is not a known option; use ca, cert, key, rejectUnauthorized/);
    expect(() => resolveMqttOptions('mqtt://h' as never)).toThrow(ConfigurationError);
  });

  it('takes the base options of core, connectionName defaulting to the service', () => {
    expect(resolveMqttOptions({ service: 'oven ctl' }).connectionName).toBe('oven_20ctl');
    expect(resolveMqttOptions({ service: 'oven', connectionName: 'oven-7' })).toMatchObject({ service: 'oven', connectionName: 'oven-7' });
    expect(() => resolveMqttOptions({ connectionName: '' })).toThrow(/connectionName must be a non-empty string/);
  });

  it('refuses publish and subscribe before connect with NotConnectedError; a lost delivery is a DeliveryLostError', async () => {
    const transport = new MqttTransport();
    await expect(transport.publish([])).rejects.toBeInstanceOf(NotConnectedError);
    await expect(transport.subscribe({ name: 's', types: ['t'], concurrency: 1 } as never, () => {})).rejects.toBeInstanceOf(NotConnectedError);
    await transport.close();
    await expect(transport.publish([])).rejects.toBeInstanceOf(NotConnectedError);
    await expect(transport.connect()).rejects.toBeInstanceOf(NotConnectedError);
    // The deprecated MQTT name is core's class itself, so code catching either catches what the transport raises.
    expect(MqttConnectionLostError).toBe(DeliveryLostError);
  });
});

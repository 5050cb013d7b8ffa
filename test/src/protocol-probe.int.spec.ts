import { foreignProtocolAt, probeProtocol, protocolOfGreeting } from '@cloudbus/core/transport';
import { describe, expect, it } from 'vitest';

import { brokerUrl } from '@cloudbus/test/brokers';

const urls = { nats: brokerUrl('nats'), rabbitmq: brokerUrl('rabbitmq'), mqtt: brokerUrl('mqtt') };

describe.skipIf(!urls.nats || !urls.rabbitmq || !urls.mqtt)('probeProtocol, against the three brokers', () => {
  it('recognises the NATS, AMQP and MQTT brokers on their ports', async () => {
    for (const [kind, protocol, port] of [['nats', 'NATS', 4222], ['rabbitmq', 'AMQP', 5672], ['mqtt', 'MQTT', 1883]] as const) {
      const url = new URL(urls[kind]!);
      const result = await probeProtocol(url.hostname, Number(url.port || port));
      expect(result, kind).toEqual({ outcome: 'answered', protocol });
    }
  });

  it('says which protocol answered instead of the expected one', async () => {
    const nats = new URL(urls.nats!);
    const mqtt = new URL(urls.mqtt!);
    const rabbit = new URL(urls.rabbitmq!);
    expect(await foreignProtocolAt(`nats://${mqtt.host}`, 4222, 'NATS')).toMatch(/it answered like an MQTT broker/);
    expect(await foreignProtocolAt(`mqtt://${rabbit.host}`, 1883, 'MQTT')).toMatch(/it answered like an AMQP 0-9-1 broker/);
    expect(await foreignProtocolAt(`amqp://${nats.host}`, 5672, 'AMQP')).toMatch(/it answered like a NATS server/);
    expect(await foreignProtocolAt(`nats://${nats.host}`, 4222, 'NATS')).toBeUndefined();
  });

});

describe('probeProtocol', () => {
  it('reports an unreachable port as such, for the client to explain', async () => {
    expect(await probeProtocol('127.0.0.1', 1)).toEqual({ outcome: 'unreachable' });
  });

  it('names greetings from their first bytes', () => {
    const bytes = (text: string) => new TextEncoder().encode(text);
    expect(protocolOfGreeting(bytes('INFO {"server_id":"x"}\r\n'))).toBe('NATS');
    expect(protocolOfGreeting(Uint8Array.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]))).toBe('AMQP');
    expect(protocolOfGreeting(Uint8Array.from([0x20, 0x02, 0x00, 0x00]))).toBe('MQTT');
    expect(protocolOfGreeting(bytes('HTTP/1.1 400 Bad Request'))).toBe('HTTP');
    expect(protocolOfGreeting(Uint8Array.from([0x16, 0x03, 0x01]))).toBe('TLS');
    expect(protocolOfGreeting(bytes('220 smtp ready'))).toBeUndefined();
  });
});

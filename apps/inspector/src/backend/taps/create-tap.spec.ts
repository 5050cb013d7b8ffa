import { toAmqpConnectArguments } from '@cloudbus/transport-rabbitmq';
import { describe, expect, it } from 'vitest';

import type { ConnectionProfile } from '../../shared/connection-profile.js';
import { mqttTapConnection, natsTapConnection, rabbitMqTapConnection } from './create-tap.js';

const profile = (broker: ConnectionProfile['broker'], url: string, more: Partial<ConnectionProfile> = {}): ConnectionProfile => ({ id: 'p', name: 'p', broker, url, ...more });

describe('a tap connects with every option the transport accepts', () => {
  it('NATS: a tls:// URL requires TLS, and the TLS settings pass through', () => {
    expect(natsTapConnection(profile('nats', 'tls://127.0.0.1:4222'), undefined).tls).toEqual({});
    expect(natsTapConnection(profile('nats', 'nats://127.0.0.1:4222', { tls: { caFile: '/ca.pem', handshakeFirst: true } }), undefined).tls).toEqual({ caFile: '/ca.pem', handshakeFirst: true });
    expect(natsTapConnection(profile('nats', 'nats://127.0.0.1:4222'), undefined).tls).toBeUndefined();
  });

  it('NATS: user and password, token, NKEY seed, creds and creds file', () => {
    const nats = (more: Partial<ConnectionProfile>, secret?: string, url = 'nats://127.0.0.1:4222') => natsTapConnection(profile('nats', url, more), secret).auth;
    expect(nats({}, 's3cret', 'nats://alice@127.0.0.1:4222')).toEqual({ user: 'alice', pass: 's3cret' });
    expect(nats({ secret: 'token' }, 't0ken')).toEqual({ token: 't0ken' });
    expect(nats({ secret: 'nkeySeed' }, 'SUAXXX')).toEqual({ nkeySeed: 'SUAXXX' });
    expect(nats({ secret: 'creds' }, '-----BEGIN NATS USER JWT-----')).toEqual({ creds: '-----BEGIN NATS USER JWT-----' });
    expect(nats({ credsFile: '/etc/nats/app.creds' })).toEqual({ credsFile: '/etc/nats/app.creds' });
    expect(nats({})).toBeUndefined();
    expect(() => nats({}, 's3cret')).toThrow(/user in the URL/);
  });

  it('NATS: stream and subject names are the transport\'s, checked by its parser', () => {
    const options = natsTapConnection(profile('nats', 'nats://127.0.0.1:4222', { stream: 'S', deadLetterStream: 'D', subjectPrefix: 'app' }), undefined);
    expect(options).toMatchObject({ stream: 'S', deadLetterStream: 'D', subjectPrefix: 'app', deadLetterSubjectPrefix: 'app_dlq' });
    expect(() => natsTapConnection(profile('nats', 'nats://127.0.0.1:4222', { stream: 'a b' }), undefined)).toThrow(/stream/);
  });

  it('RabbitMQ: amqps:// with its TLS settings on the socket, the password apart from the URL', () => {
    const tls = { ca: '-----BEGIN CERTIFICATE-----', servername: 'rabbit.example', rejectUnauthorized: true };
    const { url, socketOptions } = toAmqpConnectArguments(rabbitMqTapConnection(profile('rabbitmq', 'amqps://guest@127.0.0.1:5671', { tls }), 'pw'));
    expect(url).toMatchObject({ protocol: 'amqps', username: 'guest', password: 'pw', port: 5671 });
    expect(socketOptions).toMatchObject(tls);
    expect(() => rabbitMqTapConnection(profile('rabbitmq', 'amqp://127.0.0.1', { tls }), undefined)).toThrow(/amqps/);
  });

  it('MQTT: mqtts:// with its TLS settings, user from the URL and the password from the source', () => {
    const options = mqttTapConnection(profile('mqtt', 'mqtts://bob@127.0.0.1:8883', { tls: { ca: '-----BEGIN CERTIFICATE-----', rejectUnauthorized: false } }), 'pw');
    expect(options).toMatchObject({ url: 'mqtts://127.0.0.1:8883', username: 'bob', tls: { ca: '-----BEGIN CERTIFICATE-----', rejectUnauthorized: false } });
    expect(options.password).toBe('pw');
  });
});

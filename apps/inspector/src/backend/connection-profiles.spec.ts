import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ConfigurationError } from '@cloudbus/core';
import { describe, expect, it } from 'vitest';

import { loadProfiles } from './connection-profiles.js';

function file(content: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'inspector-')), 'profiles.json');
  writeFileSync(path, JSON.stringify(content));
  return path;
}

describe('connection profiles', () => {
  it('reads profiles from a file, flags and the environment', () => {
    const path = file({ profiles: [{ id: 'rabbit', broker: 'rabbitmq', url: 'amqp://guest@127.0.0.1:5672', passwordEnv: 'RABBIT_PASSWORD' }] });
    const { profiles } = loadProfiles(['--profiles', path, '--broker', 'nats', '--url', 'nats://127.0.0.1:4222'], { CLOUDBUS_TRANSPORT: 'mqtt', CLOUDBUS_URL: 'mqtt://127.0.0.1:1883' });
    expect(profiles.map((p) => [p.id, p.broker, p.name])).toEqual([
      ['rabbit', 'rabbitmq', 'rabbit'],
      ['cli', 'nats', 'cli'],
      ['default', 'mqtt', 'default'],
    ]);
  });

  it('refuses a password written in a profiles file, and says where it belongs', () => {
    const path = file([{ id: 'rabbit', broker: 'rabbitmq', url: 'amqp://guest:secret@127.0.0.1:5672' }]);
    expect(() => loadProfiles(['--profiles', path], {})).toThrow(/passwordEnv/);
  });

  it('moves a password given in --url or CLOUDBUS_URL out of the profile into the password source', () => {
    const { profiles, passwords } = loadProfiles(['--broker', 'rabbitmq', '--url', 'amqp://guest:cli-p%40ss@127.0.0.1:5672'], {
      CLOUDBUS_TRANSPORT: 'nats',
      CLOUDBUS_URL: 'nats://alice:env-pass@127.0.0.1:4222',
    });
    expect(profiles.map((p) => p.url)).toEqual(['amqp://guest@127.0.0.1:5672', 'nats://alice@127.0.0.1:4222']);
    expect(JSON.stringify(profiles)).not.toMatch(/cli-p|env-pass/);
    expect(profiles.map((p) => passwords(p))).toEqual(['cli-p@ss', 'env-pass']);
  });

  it('reads the password of a profile from the environment variable it names', () => {
    const path = file([{ id: 'rabbit', broker: 'rabbitmq', url: 'amqp://guest@127.0.0.1:5672', passwordEnv: 'RABBIT_PASSWORD' }]);
    const { profiles, passwords } = loadProfiles(['--profiles', path], { RABBIT_PASSWORD: 'from-env' });
    expect(passwords(profiles[0]!)).toBe('from-env');
  });

  it('takes the NATS secret kind, a creds file and TLS settings, and refuses them where they do not apply', () => {
    const path = file([{ id: 'n', broker: 'nats', url: 'tls://127.0.0.1:4222', secret: 'nkeySeed', credsFile: '/x.creds', tls: { caFile: '/ca.pem', rejectUnauthorized: true } }]);
    expect(loadProfiles(['--profiles', path], {}).profiles[0]).toMatchObject({ secret: 'nkeySeed', credsFile: '/x.creds', tls: { caFile: '/ca.pem', rejectUnauthorized: true } });
    expect(() => loadProfiles(['--profiles', file([{ id: 'r', broker: 'rabbitmq', url: 'amqp://h', secret: 'token' }])], {})).toThrow(/NATS/);
    expect(() => loadProfiles(['--profiles', file([{ id: 'r', broker: 'rabbitmq', url: 'amqps://h', tls: { ca: 1 } }])], {})).toThrow(/tls.ca/);
  });

  it('refuses a URL of another broker and duplicate ids', () => {
    expect(() => loadProfiles(['--broker', 'nats', '--url', 'amqp://h'], {})).toThrow(ConfigurationError);
    const path = file([{ id: 'default', broker: 'nats', url: 'nats://h:4222' }]);
    expect(() => loadProfiles(['--profiles', path], { CLOUDBUS_TRANSPORT: 'nats', CLOUDBUS_URL: 'nats://h:4222' })).toThrow(/unique/);
  });
});

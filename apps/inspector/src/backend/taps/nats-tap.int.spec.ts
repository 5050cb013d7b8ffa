import { startPlainNatsServer, type PlainNatsServer } from '@cloudbus/test/plain-nats-server';
import { afterEach, describe, expect, it } from 'vitest';

import type { ConnectionProfile } from '../../shared/connection-profile.js';
import { natsTapConnection } from './create-tap.js';
import { NatsTap } from './nats-tap.js';

describe('the NATS tap', () => {
  let plain: PlainNatsServer | undefined;
  afterEach(async () => plain?.close());

  it('refuses a tls:// server that offers no TLS, without sending CONNECT or the password', async () => {
    plain = await startPlainNatsServer();
    const profile: ConnectionProfile = { id: 'n', name: 'n', broker: 'nats', url: `tls://alice@127.0.0.1:${plain.port}` };
    const tap = new NatsTap({ connection: natsTapConnection(profile, 'tap-s3cret') });
    await expect(tap.open({ message: () => undefined, failed: () => undefined })).rejects.toThrow(/tls/i);
    await tap.close();
    expect(plain.received()).not.toContain('CONNECT');
    expect(plain.received()).not.toContain('tap-s3cret');
  });
});

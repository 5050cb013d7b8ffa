import { describe, expect, it } from 'vitest';

import { InvalidChannelMessageError, parseRequest, parseServerMessage } from './channel-contract.js';

describe('the channel contract', () => {
  it('accepts a well-formed request and keeps only its known parameters', () => {
    expect(parseRequest({ kind: 'request', requestId: 3, name: 'event.get', params: { seq: 12 } })).toEqual({ kind: 'request', requestId: 3, name: 'event.get', params: { seq: 12 } });
  });

  it.each([
    ['not an object', 'hello'],
    ['an unknown request', { kind: 'request', requestId: 1, name: 'shell.exec', params: {} }],
    ['a prototype key as name', { kind: 'request', requestId: 1, name: 'constructor', params: {} }],
    ['a negative sequence', { kind: 'request', requestId: 1, name: 'event.get', params: { seq: -1 } }],
    ['an extra parameter', { kind: 'request', requestId: 1, name: 'event.get', params: { seq: 1, path: '/etc' } }],
    ['a bad extension name', { kind: 'request', requestId: 1, name: 'event.publish', params: { profileId: 'p', type: 't', source: 's', data: '', extensions: { 'Bad-Name': 'x' } } }],
    ['an empty replay', { kind: 'request', requestId: 1, name: 'deadletters.replay', params: { seqs: [] } }],
    ['no request id', { kind: 'request', name: 'profiles.list', params: {} }],
  ])('refuses %s', (_what, raw) => {
    expect(() => parseRequest(raw)).toThrow(InvalidChannelMessageError);
  });

  it('accepts replies and ticks from the backend and refuses anything else', () => {
    expect(parseServerMessage({ kind: 'reply', requestId: 1, ok: false, error: 'nope' })).toMatchObject({ ok: false });
    expect(parseServerMessage({ kind: 'tick', events: [], dropped: 0, total: 0, telemetryDropped: 0, reset: false, rates: { windowSeconds: 9, types: [], handlers: [] }, profiles: [] }).kind).toBe('tick');
    expect(() => parseServerMessage({ kind: 'eval', code: '1' })).toThrow(InvalidChannelMessageError);
    expect(() => parseServerMessage({ kind: 'reply', requestId: 1, ok: false })).toThrow(InvalidChannelMessageError);
  });
});

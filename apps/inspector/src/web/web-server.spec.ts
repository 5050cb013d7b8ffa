import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

import { InspectorBackend } from '../backend/inspector-backend.js';
import { CONTENT_SECURITY_POLICY } from '../shared/content-security-policy.js';
import { InspectorWebServer } from './web-server.js';

const TOKEN = 'test-token-0123456789abcdef';

function get(port: number, path: string, host = `127.0.0.1:${port}`, cookie: string | null = `cloudbus-inspector-${port}=${TOKEN}`): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host, ...(cookie === null ? {} : { cookie }) } }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function openSocket(port: number, origin: string, token: string | null = TOKEN): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`, { origin, headers: token === null ? {} : { cookie: `cloudbus-inspector-${port}=${token}` } });
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
}

function ask(socket: WebSocket, message: unknown): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const onMessage = (raw: Buffer): void => {
      const parsed = JSON.parse(raw.toString()) as Record<string, unknown>;
      if (parsed['kind'] !== 'reply') return;
      socket.off('message', onMessage);
      resolve(parsed);
    };
    socket.on('message', onMessage);
    socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  });
}

describe('the web-mode server', () => {
  const root = mkdtempSync(join(tmpdir(), 'inspector-static-'));
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>ui</title>');
  const backend = new InspectorBackend({ profiles: [] });
  const server = new InspectorWebServer({ backend, staticDir: root, port: 0, token: TOKEN });
  let port = 0;

  beforeAll(async () => {
    port = Number(new URL(await server.start()).port);
  });
  afterAll(async () => {
    await server.close();
    await backend.close();
  });

  it('serves the UI on 127.0.0.1 with a strict Content Security Policy', async () => {
    const response = await get(port, '/');
    expect(response.status).toBe(200);
    expect(response.body).toContain('<title>ui</title>');
    expect(response.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'none'");
  });

  it('prints a URL with the token, and swaps it for an HttpOnly, SameSite=Strict cookie', async () => {
    expect(server.url).toBe(`http://127.0.0.1:${port}/?token=${TOKEN}`);
    const response = await get(port, `/?token=${TOKEN}`, undefined, null);
    expect(response.status).toBe(303);
    expect(response.headers['location']).toBe('/');
    expect(response.headers['set-cookie']).toEqual([`cloudbus-inspector-${port}=${TOKEN}; HttpOnly; SameSite=Strict; Path=/`]);
  });

  it('refuses a request without the token, or with a wrong one', async () => {
    expect((await get(port, '/', undefined, null)).status).toBe(401);
    expect((await get(port, '/', undefined, `cloudbus-inspector-${port}=wrong-token-0123456789ab`)).status).toBe(401);
    expect((await get(port, '/?token=wrong', undefined, null)).status).toBe(401);
  });

  it('refuses a WebSocket without the token, even from the right origin', async () => {
    await expect(openSocket(port, `http://127.0.0.1:${port}`, null)).rejects.toThrow(/401/);
    await expect(openSocket(port, `http://127.0.0.1:${port}`, 'wrong-token-0123456789abcd')).rejects.toThrow(/401/);
  });

  it('refuses a request for another host name (DNS rebinding) and paths outside the UI', async () => {
    expect((await get(port, '/', 'evil.example:80')).status).toBe(421);
    expect((await get(port, '/../../etc/passwd')).status).toBe(404);
    expect((await get(port, '/%2e%2e/%2e%2e/etc/passwd')).status).toBe(404);
  });

  it('refuses a WebSocket from another origin, even with the token', async () => {
    await expect(openSocket(port, 'http://evil.example')).rejects.toThrow(/403/);
  });

  it('answers a valid request and rejects one off the contract, on the same socket', async () => {
    const socket = await openSocket(port, `http://127.0.0.1:${port}`);
    try {
      expect(await ask(socket, { kind: 'request', requestId: 1, name: 'profiles.list', params: {} })).toEqual({ kind: 'reply', requestId: 1, ok: true, result: [] });
      const refused = await ask(socket, { kind: 'request', requestId: 2, name: 'event.get', params: { seq: 'x' } });
      expect(refused).toMatchObject({ requestId: 2, ok: false });
      expect(await ask(socket, 'not json')).toMatchObject({ ok: false });
    } finally {
      socket.close();
    }
  });
});

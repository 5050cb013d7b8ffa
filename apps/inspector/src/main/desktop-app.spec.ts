import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import type { InspectorBackend } from '../backend/inspector-backend.js';
import { CONTENT_SECURITY_POLICY } from '../shared/content-security-policy.js';
import { IpcChannels } from '../shared/ipc-channels.js';
import { FakeWebContents, registered, type FakeBrowserWindow } from './test-electron.js';

vi.mock('electron', async () => (await import('./test-electron.js')).fakeElectron);

const { APP_ORIGIN, rendererFile, startDesktopApp } = await import('./desktop-app.js');
const { SafeStoragePasswords } = await import('./safe-storage-passwords.js');

const SECRET_FILE = 'outside-the-renderer.txt';

describe('the Electron main process, against a stand-in electron module', () => {
  const root = mkdtempSync(join(tmpdir(), 'inspector-main-'));
  const rendererDir = join(root, 'renderer');
  let window: FakeBrowserWindow;
  let backend: InspectorBackend;

  beforeAll(async () => {
    mkdirSync(rendererDir);
    writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>ui</title>');
    writeFileSync(join(root, SECRET_FILE), 'not for the renderer');
    registered.userData = mkdtempSync(join(tmpdir(), 'inspector-userdata-'));
    // A profile whose broker is not there: it fails to open, which is all these tests need.
    const started = await startDesktopApp({ argv: ['--broker', 'rabbitmq', '--url', 'amqp://guest@127.0.0.1:1', '--id', 'rabbit'], env: {}, rendererDir, preload: '/app/preload.cjs' });
    window = started.window as unknown as FakeBrowserWindow;
    backend = started.backend;
  });
  afterAll(async () => backend.close());

  const trustedEvent = (): object => ({ sender: window.webContents, senderFrame: window.webContents.mainFrame });

  it('opens one window: isolated, sandboxed, without Node, web security on, no webview', () => {
    expect(registered.windows).toHaveLength(1);
    expect(window.options['webPreferences']).toMatchObject({
      preload: '/app/preload.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    });
  });

  it('serves the renderer over app://, never file://', () => {
    expect(window.loaded).toBe(`${APP_ORIGIN}/index.html`);
    expect(registered.privilegedSchemes).toEqual([{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
  });

  it('answers app:// with the renderer files and the CSP header', async () => {
    const response = await registered.protocols.get('app')!(new Request(`${APP_ORIGIN}/index.html`));
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('<title>ui</title>');
    expect(response.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
  });

  it.each([
    `${APP_ORIGIN}/%2e%2e/${SECRET_FILE}`,
    `${APP_ORIGIN}/..%2f${SECRET_FILE}`,
    `${APP_ORIGIN}/%2e%2e%2f%2e%2e%2fetc%2fpasswd`,
    `${APP_ORIGIN}/index.html%00.js`,
    `app://elsewhere/index.html`,
  ])('refuses %s (path traversal, NUL, another host)', async (url) => {
    const response = await registered.protocols.get('app')!(new Request(url));
    expect(response.status).toBe(404);
    expect(await response.text()).not.toContain('not for the renderer');
    const file = rendererFile(rendererDir, url);
    if (file !== undefined) expect(file.startsWith(`${rendererDir}/`)).toBe(true);
  });

  it('sets the one CSP on every response header', () => {
    let headers: Record<string, string[]> | undefined;
    registered.headersReceived!({ responseHeaders: { 'X-Other': ['1'], 'Content-Security-Policy': ["default-src *"] } }, (result: { responseHeaders: Record<string, string[]> }) => (headers = result.responseHeaders));
    expect(headers).toEqual({ 'X-Other': ['1'], 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] });
  });

  it('grants no permission, whether requested or checked', () => {
    const answers: boolean[] = [];
    for (const permission of ['media', 'notifications', 'clipboard-read', 'geolocation']) registered.permissionRequest!(window.webContents, permission, (granted: boolean) => answers.push(granted));
    expect(answers).toEqual([false, false, false, false]);
    expect(registered.permissionCheck!(window.webContents, 'clipboard-read', APP_ORIGIN, {})).toBe(false);
    expect(registered.permissionCheck!(null, 'media', 'https://evil.example', {})).toBe(false);
  });

  it('denies navigation, redirects, webviews and new windows, in the window and in any contents created later', () => {
    const later = new FakeWebContents();
    for (const listener of registered.appListeners.get('web-contents-created')!) listener({}, later);
    for (const contents of [window.webContents, later]) {
      expect(contents.emit('will-navigate', 'https://evil.example')).toBe(true);
      expect(contents.emit('will-redirect', 'https://evil.example')).toBe(true);
      expect(contents.emit('will-attach-webview', {}, {})).toBe(true);
      expect(contents.windowOpenHandler!({ url: 'https://evil.example' })).toEqual({ action: 'deny' });
    }
  });

  it('answers a request from its own window, validated against the channel contract', async () => {
    const handle = registered.ipc.get(IpcChannels.request)!;
    const reply = (await handle(trustedEvent(), { kind: 'request', requestId: 3, name: 'profiles.list', params: {} })) as { ok: boolean; result: { profile: { id: string } }[] };
    expect(reply.ok).toBe(true);
    expect(reply.result.map((status) => status.profile.id)).toEqual(['rabbit']);
    expect(await handle(trustedEvent(), { kind: 'request', requestId: 4, name: 'event.get', params: { seq: 'x' } })).toMatchObject({ requestId: 4, ok: false });
    expect(await handle(trustedEvent(), { kind: 'request', requestId: 5, name: 'shell.exec', params: {} })).toMatchObject({ ok: false });
  });

  it('refuses a request from another contents, a sub-frame, or a page not served over app://', async () => {
    const handle = registered.ipc.get(IpcChannels.request)!;
    const message = { kind: 'request', requestId: 1, name: 'profiles.list', params: {} };
    const refused = { kind: 'reply', requestId: -1, ok: false, error: 'Unknown sender.' };
    expect(await handle({ sender: new FakeWebContents(), senderFrame: window.webContents.mainFrame }, message)).toEqual(refused);
    expect(await handle({ sender: window.webContents, senderFrame: { url: `${APP_ORIGIN}/index.html`, parent: window.webContents.mainFrame } }, message)).toEqual(refused);
    const frame = window.webContents.mainFrame;
    const url = frame.url;
    try {
      frame.url = 'file:///etc/passwd';
      expect(await handle(trustedEvent(), message)).toEqual(refused);
      frame.url = 'https://evil.example/';
      expect(await handle(trustedEvent(), message)).toEqual(refused);
    } finally {
      frame.url = url;
    }
  });

  it('savePassword checks the sender, the profile id and the password before storing anything', () => {
    const save = registered.ipc.get(IpcChannels.savePassword)!;
    expect(() => save({ sender: new FakeWebContents(), senderFrame: null }, 'rabbit', 'pw')).toThrow(/Unknown sender/);
    expect(() => save(trustedEvent(), '../../etc/passwd', 'pw')).toThrow(/no connection profile/);
    expect(() => save(trustedEvent(), '__proto__', 'pw')).toThrow(/no connection profile/);
    expect(() => save(trustedEvent(), 42, 'pw')).toThrow(/savePassword takes/);
    expect(() => save(trustedEvent(), 'rabbit', 'x'.repeat(5_000))).toThrow(/savePassword takes/);
    expect(() => readFileSync(join(registered.userData, 'passwords.json'))).toThrow();
    save(trustedEvent(), 'rabbit', 'stored-pw');
    const stored = JSON.parse(readFileSync(join(registered.userData, 'passwords.json'), 'utf8')) as Record<string, { host: string; secret: string }>;
    expect(Object.keys(stored)).toEqual(['rabbit']);
    expect(stored['rabbit']!.host).toBe('127.0.0.1:1');
    expect(JSON.stringify(stored)).not.toContain('stored-pw');
  });
});

describe('stored passwords', () => {
  const profile = { id: 'rabbit', name: 'rabbit', broker: 'rabbitmq' as const, url: 'amqp://guest@rabbit.internal:5672' };

  it('are bound to the host they were saved for: a profile edited to another host does not get them', () => {
    registered.storageBackend = 'gnome_libsecret';
    const passwords = new SafeStoragePasswords(mkdtempSync(join(tmpdir(), 'inspector-pw-')), () => 'from-fallback');
    passwords.save(profile, 'rabbit-pw');
    expect(passwords.source(profile)).toBe('rabbit-pw');
    expect(passwords.source({ ...profile, url: 'amqp://guest@attacker.example:5672' })).toBe('from-fallback');
    expect(passwords.source({ ...profile, url: 'amqp://guest@rabbit.internal:5999' })).toBe('from-fallback');
  });

  it.runIf(process.platform === 'linux')('are refused on Linux when safeStorage would use its basic_text backend', () => {
    registered.storageBackend = 'basic_text';
    try {
      const dir = mkdtempSync(join(tmpdir(), 'inspector-pw-'));
      const passwords = new SafeStoragePasswords(dir, () => undefined);
      expect(() => passwords.save(profile, 'pw')).toThrow(/secret service/);
      expect(() => readFileSync(join(dir, 'passwords.json'))).toThrow();
    } finally {
      registered.storageBackend = 'gnome_libsecret';
    }
  });

  it('refuses a profile id that is not one', () => {
    const passwords = new SafeStoragePasswords(mkdtempSync(join(tmpdir(), 'inspector-pw-')), () => undefined);
    expect(() => passwords.save({ ...profile, id: '../x' }, 'pw')).toThrow(/profile id/);
  });
});

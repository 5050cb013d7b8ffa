import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import { app, BrowserWindow, ipcMain, protocol, session, type IpcMainInvokeEvent, type WebContents } from 'electron';

import { redactCredentials } from '@cloudbus/core';

import { loadProfiles } from '../backend/connection-profiles.js';
import { InspectorBackend } from '../backend/inspector-backend.js';
import { contentTypeOf, fileUnder } from '../backend/renderer-files.js';
import { parseRequest, type ReplyMessage } from '../shared/channel-contract.js';
import type { ConnectionProfile } from '../shared/connection-profile.js';
import { CONTENT_SECURITY_POLICY } from '../shared/content-security-policy.js';
import { IpcChannels } from '../shared/ipc-channels.js';
import { PasswordStoreError, SafeStoragePasswords } from './safe-storage-passwords.js';

/** The renderer is served over this scheme, not `file://`: it reaches nothing but its own files. */
export const APP_SCHEME = 'app';
/** Origin of the renderer: `app://inspector`. */
export const APP_ORIGIN = `${APP_SCHEME}://inspector`;

/** Longest password `savePassword` accepts. */
const MAX_PASSWORD = 4_096;

/**
 * The file of the renderer directory `root` a request for `url` reads, or undefined when the URL
 * is not ours (another scheme or host) or would leave the directory (`..`, encoded or not).
 */
export function rendererFile(root: string, url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (`${parsed.protocol}//${parsed.host}` !== APP_ORIGIN) return undefined;
  let path: string;
  try {
    path = decodeURIComponent(parsed.pathname);
  } catch {
    return undefined;
  }
  return fileUnder(root, path);
}

/** Answers one request of the `app://` protocol: a file of the renderer with the CSP header, else 404. */
export async function serveRenderer(root: string, request: Request): Promise<Response> {
  const headers = { 'Content-Security-Policy': CONTENT_SECURITY_POLICY, 'X-Content-Type-Options': 'nosniff' };
  const file = rendererFile(root, request.url);
  const info = file === undefined ? undefined : await stat(file).catch(() => undefined);
  if (file === undefined || info === undefined || !info.isFile() || request.method !== 'GET') return new Response('Not found.', { status: 404, headers });
  return new Response(await readFile(file), { status: 200, headers: { ...headers, 'Content-Type': contentTypeOf(file) } });
}

/** True when an IPC message comes from our window's main frame, showing our own page. */
export function isTrustedSender(window: BrowserWindow, event: IpcMainInvokeEvent): boolean {
  if (window.isDestroyed() || event.sender !== window.webContents) return false;
  const frame = event.senderFrame;
  // The top frame only (a sub-frame has a parent); WebFrameMain objects are compared by what they
  // are, not by identity.
  if (frame === null || frame.parent !== null) return false;
  try {
    const url = new URL(frame.url);
    return `${url.protocol}//${url.host}` === APP_ORIGIN;
  } catch {
    return false;
  }
}

/** Checks a `savePassword` call: a known profile id and a string password of sane length. */
export function checkSavePassword(profiles: readonly ConnectionProfile[], profileId: unknown, password: unknown): { profile: ConnectionProfile; password: string } {
  if (typeof profileId !== 'string' || typeof password !== 'string' || password === '' || password.length > MAX_PASSWORD) {
    throw new PasswordStoreError(`savePassword takes a profile id and a password of 1 to ${MAX_PASSWORD} characters.`);
  }
  const profile = profiles.find((candidate) => candidate.id === profileId);
  if (profile === undefined) throw new PasswordStoreError('savePassword: no connection profile has this id.');
  return { profile, password };
}

/** Window options: isolated, sandboxed, no Node, web security on, no webview. */
export function windowOptions(preload: string): Electron.BrowserWindowConstructorOptions {
  return {
    width: 1400,
    height: 900,
    title: 'cloudbus inspector',
    webPreferences: {
      preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
    },
  };
}

/** Locks down every web contents: no navigation, no redirect away, no new window, no webview. */
export function lockDownContents(contents: WebContents): void {
  contents.on('will-navigate', (event) => event.preventDefault());
  contents.on('will-redirect', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
}

/** Where the desktop app reads its settings. */
export interface DesktopAppOptions {
  readonly argv: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** @default dist/renderer next to this file's directory */
  readonly rendererDir?: string | undefined;
  /** @default dist/preload/preload.cjs */
  readonly preload?: string | undefined;
}

/**
 * Registers the `app://` scheme; must run before the app is ready (at start-up). Privileged as a
 * standard, secure origin so that the renderer is an ordinary page with `'self'` = its own files.
 */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
}

/**
 * Starts the desktop app: one hardened window showing the renderer over `app://`, IPC validated
 * (sender, then contract) and handed to the backend.
 */
export async function startDesktopApp(options: DesktopAppOptions): Promise<{ window: BrowserWindow; backend: InspectorBackend }> {
  const rendererDir = options.rendererDir ?? fileURLToPath(new URL('../renderer/', import.meta.url));
  const preload = options.preload ?? fileURLToPath(new URL('../preload/preload.cjs', import.meta.url));
  registerAppScheme();
  await app.whenReady();
  const { profiles, passwords: given } = loadProfiles(options.argv, options.env);
  const passwords = new SafeStoragePasswords(app.getPath('userData'), given);
  const backend = new InspectorBackend({ profiles, passwords: passwords.source });
  backend.start();

  protocol.handle(APP_SCHEME, (request) => serveRenderer(rendererDir, request));
  const ses = session.defaultSession;
  ses.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] } });
  });
  // No permission (camera, notifications, clipboard, ...) is ever granted, nor reported granted.
  ses.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
  app.on('web-contents-created', (_event, contents) => lockDownContents(contents));

  const window = new BrowserWindow(windowOptions(preload));
  lockDownContents(window.webContents);

  ipcMain.handle(IpcChannels.request, async (event, raw: unknown): Promise<ReplyMessage> => {
    if (!isTrustedSender(window, event)) return { kind: 'reply', requestId: -1, ok: false, error: 'Unknown sender.' };
    const given = typeof raw === 'object' && raw !== null ? (raw as { requestId?: unknown }).requestId : undefined;
    const requestId = typeof given === 'number' && Number.isSafeInteger(given) ? given : -1;
    try {
      const request = parseRequest(raw);
      return { kind: 'reply', requestId, ok: true, result: await backend.handle(request) };
    } catch (error) {
      return { kind: 'reply', requestId, ok: false, error: redactCredentials(error instanceof Error ? error.message : String(error)) };
    }
  });
  ipcMain.handle(IpcChannels.savePassword, (event, profileId: unknown, password: unknown) => {
    if (!isTrustedSender(window, event)) throw new PasswordStoreError('Unknown sender.');
    const checked = checkSavePassword(profiles, profileId, password);
    passwords.save(checked.profile, checked.password);
  });
  const stopTicks = backend.onTick((tick) => {
    if (!window.isDestroyed()) window.webContents.send(IpcChannels.tick, tick);
  });
  app.on('window-all-closed', () => {
    stopTicks();
    void backend.close().then(() => app.quit());
  });

  await window.loadURL(`${APP_ORIGIN}/index.html`);
  for (const profile of profiles) await backend.open(profile.id);
  return { window, backend };
}

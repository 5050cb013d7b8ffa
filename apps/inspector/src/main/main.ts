// Electron main process, kept thin: a secure window, IPC validated and handed to the backend.
import { fileURLToPath } from 'node:url';

import { app, BrowserWindow, ipcMain, session } from 'electron';

import { loadProfiles } from '../backend/connection-profiles.js';
import { InspectorBackend } from '../backend/inspector-backend.js';
import { parseRequest, type ReplyMessage } from '../shared/channel-contract.js';
import { IpcChannels } from '../shared/ipc-channels.js';
import { SafeStoragePasswords } from './safe-storage-passwords.js';

const rendererIndex = fileURLToPath(new URL('../renderer/index.html', import.meta.url));
const preload = fileURLToPath(new URL('../preload/preload.cjs', import.meta.url));

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

async function main(): Promise<void> {
  await app.whenReady();
  const passwords = new SafeStoragePasswords(app.getPath('userData'));
  const { profiles, passwords: given } = loadProfiles(process.argv.slice(2), process.env);
  const backend = new InspectorBackend({ profiles, passwords: (profile) => passwords.source(profile) ?? given(profile) });
  backend.start();

  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } });
  });
  // No permission (camera, notifications, ...) is ever granted, no navigation or new window allowed.
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-navigate', (event) => event.preventDefault());
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  });

  const window = new BrowserWindow({
    width: 1400,
    height: 900,
    title: 'cloudbus inspector',
    webPreferences: { preload, contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true },
  });

  // Only our own window, loaded from our own file, may talk to the backend.
  const trusted = (event: Electron.IpcMainInvokeEvent): boolean => event.sender === window.webContents && event.senderFrame?.url === window.webContents.getURL();
  ipcMain.handle(IpcChannels.request, async (event, raw: unknown): Promise<ReplyMessage> => {
    if (!trusted(event)) return { kind: 'reply', requestId: -1, ok: false, error: 'Unknown sender.' };
    let requestId = -1;
    try {
      const request = parseRequest(raw);
      requestId = request.requestId;
      return { kind: 'reply', requestId, ok: true, result: await backend.handle(request) };
    } catch (error) {
      return { kind: 'reply', requestId, ok: false, error: error instanceof Error ? error.message : String(error) };
    }
  });
  ipcMain.handle(IpcChannels.savePassword, (event, profileId: unknown, password: unknown) => {
    if (!trusted(event)) throw new Error('Unknown sender.');
    if (typeof profileId !== 'string' || typeof password !== 'string' || password.length > 4_096) throw new Error('Invalid password request.');
    passwords.save(profileId, password);
  });
  const stopTicks = backend.onTick((tick) => {
    if (!window.isDestroyed()) window.webContents.send(IpcChannels.tick, tick);
  });

  await window.loadFile(rendererIndex);
  for (const profile of profiles) await backend.open(profile.id);

  app.on('window-all-closed', () => {
    stopTicks();
    void backend.close().then(() => app.quit());
  });
}

void main();

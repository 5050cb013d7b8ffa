// Preload (sandboxed, CommonJS): exposes a small typed API, nothing of Node or Electron.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a sandboxed preload is CommonJS
import electron = require('electron');

import type { InspectorApi } from '../shared/inspector-api.js';

// Channel names are repeated here: a sandboxed preload can require nothing but 'electron'.
const REQUEST = 'cloudbus-inspector:request';
const TICK = 'cloudbus-inspector:tick';
const SAVE_PASSWORD = 'cloudbus-inspector:save-password';

const api: InspectorApi = {
  request: (message) => electron.ipcRenderer.invoke(REQUEST, message),
  onTick: (listener) => {
    const wrapped = (_event: electron.IpcRendererEvent, tick: unknown): void => listener(tick);
    electron.ipcRenderer.on(TICK, wrapped);
    return () => {
      electron.ipcRenderer.removeListener(TICK, wrapped);
    };
  },
  savePassword: async (profileId, password) => {
    await electron.ipcRenderer.invoke(SAVE_PASSWORD, profileId, password);
  },
};

electron.contextBridge.exposeInMainWorld('cloudbusInspector', api);

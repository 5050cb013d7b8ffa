// A stand-in for the `electron` module (test support): records what the main process registers,
// so tests can call the handlers the way Electron would. It runs no Chromium and no Electron.
import { Buffer } from 'node:buffer';

type Listener = (...args: unknown[]) => unknown;

/** A web contents: its event listeners, window-open handler and main frame. */
export class FakeWebContents {
  readonly listeners = new Map<string, Listener[]>();
  windowOpenHandler: ((details: { url: string }) => { action: string }) | undefined;
  readonly mainFrame: { url: string; parent: null } = { url: '', parent: null };
  readonly sent: { channel: string; payload: unknown }[] = [];
  on(event: string, listener: Listener): this {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
    return this;
  }
  setWindowOpenHandler(handler: (details: { url: string }) => { action: string }): void {
    this.windowOpenHandler = handler;
  }
  send(channel: string, payload: unknown): void {
    this.sent.push({ channel, payload });
  }
  getURL(): string {
    return this.mainFrame.url;
  }
  /** Emits an event with a fresh event object; returns whether a listener prevented its default. */
  emit(event: string, ...args: unknown[]): boolean {
    let prevented = false;
    const object = { preventDefault: () => (prevented = true) };
    for (const listener of this.listeners.get(event) ?? []) listener(object, ...args);
    return prevented;
  }
}

/** What the main process registered. */
export const registered = {
  privilegedSchemes: [] as unknown[],
  protocols: new Map<string, (request: Request) => Promise<Response> | Response>(),
  ipc: new Map<string, Listener>(),
  appListeners: new Map<string, Listener[]>(),
  headersReceived: undefined as Listener | undefined,
  permissionRequest: undefined as Listener | undefined,
  permissionCheck: undefined as Listener | undefined,
  windows: [] as FakeBrowserWindow[],
  storageBackend: 'gnome_libsecret' as string,
  userData: '',
};

export class FakeBrowserWindow {
  readonly webContents = new FakeWebContents();
  loaded: string | undefined;
  constructor(readonly options: Record<string, unknown>) {
    registered.windows.push(this);
  }
  isDestroyed(): boolean {
    return false;
  }
  async loadURL(url: string): Promise<void> {
    this.loaded = url;
    this.webContents.mainFrame.url = url;
  }
  async loadFile(path: string): Promise<void> {
    this.loaded = `file://${path}`;
  }
}

/** The module the tests hand to `vi.mock('electron', ...)`. */
export const fakeElectron = {
  app: {
    whenReady: async (): Promise<void> => undefined,
    getPath: (): string => registered.userData,
    on: (event: string, listener: Listener): void => {
      registered.appListeners.set(event, [...(registered.appListeners.get(event) ?? []), listener]);
    },
    quit: (): void => undefined,
    exit: (): void => undefined,
  },
  protocol: {
    registerSchemesAsPrivileged: (schemes: unknown[]): void => {
      registered.privilegedSchemes.push(...schemes);
    },
    handle: (scheme: string, handler: (request: Request) => Promise<Response>): void => {
      registered.protocols.set(scheme, handler);
    },
  },
  session: {
    defaultSession: {
      webRequest: {
        onHeadersReceived: (listener: Listener): void => {
          registered.headersReceived = listener;
        },
      },
      setPermissionRequestHandler: (listener: Listener): void => {
        registered.permissionRequest = listener;
      },
      setPermissionCheckHandler: (listener: Listener): void => {
        registered.permissionCheck = listener;
      },
    },
  },
  ipcMain: {
    handle: (channel: string, listener: Listener): void => {
      registered.ipc.set(channel, listener);
    },
  },
  BrowserWindow: FakeBrowserWindow,
  safeStorage: {
    isEncryptionAvailable: (): boolean => true,
    getSelectedStorageBackend: (): string => registered.storageBackend,
    encryptString: (text: string): Buffer => Buffer.from(`sealed:${text}`).reverse(),
    decryptString: (sealed: Buffer): string => Buffer.from(sealed).reverse().toString().replace(/^sealed:/, ''),
  },
};

/** Electron IPC channel names of the channel contract. */
export const IpcChannels = {
  /** Renderer to main, `invoke`: a request message; resolves with its reply message. */
  request: 'cloudbus-inspector:request',
  /** Main to renderer: a tick message. */
  tick: 'cloudbus-inspector:tick',
  /** Renderer to main, `invoke`: store a profile's password with safeStorage. */
  savePassword: 'cloudbus-inspector:save-password',
} as const;

import { readFileSync } from 'node:fs';

import ts from 'typescript';
import { describe, expect, it } from 'vitest';

import type { InspectorApi } from '../shared/inspector-api.js';
import { IpcChannels } from '../shared/ipc-channels.js';

/**
 * Runs the preload's source, compiled to CommonJS as its build does, with a stand-in `electron`
 * (contextBridge and ipcRenderer that record); a sandboxed preload can require nothing else.
 */
function runPreload(): { exposed: Map<string, unknown>; invoked: unknown[][]; listeners: Map<string, ((...args: unknown[]) => void)[]> } {
  const source = readFileSync(new URL('../preload/preload.cts', import.meta.url), 'utf8');
  const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } });
  const exposed = new Map<string, unknown>();
  const invoked: unknown[][] = [];
  const listeners = new Map<string, ((...args: unknown[]) => void)[]>();
  const electron = {
    contextBridge: { exposeInMainWorld: (name: string, api: unknown) => exposed.set(name, api) },
    ipcRenderer: {
      invoke: async (...args: unknown[]) => {
        invoked.push(args);
        return { kind: 'reply' };
      },
      on: (channel: string, listener: (...args: unknown[]) => void) => listeners.set(channel, [...(listeners.get(channel) ?? []), listener]),
      removeListener: (channel: string, listener: (...args: unknown[]) => void) => listeners.set(channel, (listeners.get(channel) ?? []).filter((l) => l !== listener)),
    },
  };
  const required: string[] = [];
  const fakeRequire = (name: string): unknown => {
    required.push(name);
    if (name !== 'electron') throw new Error(`A sandboxed preload cannot require '${name}'.`);
    return electron;
  };
  const module = { exports: {} };
  new Function('require', 'module', 'exports', outputText)(fakeRequire, module, module.exports);
  expect(required).toEqual(['electron']);
  return { exposed, invoked, listeners };
}

describe('the preload, against a stand-in electron module', () => {
  it('exposes one API, cloudbusInspector, with request, onTick and savePassword only', () => {
    const { exposed } = runPreload();
    expect([...exposed.keys()]).toEqual(['cloudbusInspector']);
    expect(Object.keys(exposed.get('cloudbusInspector') as object).sort()).toEqual(['onTick', 'request', 'savePassword']);
  });

  it('sends on the channels the main process listens to, and hands ticks over without the IPC event', async () => {
    const { exposed, invoked, listeners } = runPreload();
    const api = exposed.get('cloudbusInspector') as InspectorApi;
    const message = { kind: 'request', requestId: 1, name: 'profiles.list', params: {} } as const;
    await api.request(message);
    await api.savePassword('rabbit', 'pw');
    expect(invoked).toEqual([
      [IpcChannels.request, message],
      [IpcChannels.savePassword, 'rabbit', 'pw'],
    ]);
    const ticks: unknown[] = [];
    const stop = api.onTick((tick) => ticks.push(tick));
    for (const listener of listeners.get(IpcChannels.tick)!) listener({ sender: 'the ipc event' }, { kind: 'tick' });
    expect(ticks).toEqual([{ kind: 'tick' }]);
    stop();
    expect(listeners.get(IpcChannels.tick)).toEqual([]);
  });
});

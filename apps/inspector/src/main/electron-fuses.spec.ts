import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { FuseV1Options, getCurrentFuseWire } from '@electron/fuses';
import { describe, expect, it } from 'vitest';

import { flipInspectorFuses } from './electron-fuses.js';

const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
const ENABLE = 49;
const DISABLE = 48;

/** A file laid out like an Electron binary around its fuse wire: every fuse at Electron's defaults (all on but the last two). */
function fakeElectronBinary(): string {
  const wire = [ENABLE, ENABLE, ENABLE, ENABLE, DISABLE, DISABLE, DISABLE, ENABLE];
  const path = join(mkdtempSync(join(tmpdir(), 'inspector-fuses-')), 'electron');
  writeFileSync(path, Buffer.concat([Buffer.from('ELF...padding...'), Buffer.from(SENTINEL), Buffer.from([1, wire.length, ...wire]), Buffer.from('...rest')]));
  return path;
}

describe('the Electron fuses of the inspector', () => {
  it('turn off RunAsNode, NODE_OPTIONS and inspect arguments, and file:// privileges', async () => {
    const binary = fakeElectronBinary();
    await flipInspectorFuses(binary, false);
    const wire = (await getCurrentFuseWire(binary)) as unknown as Record<number, number>;
    expect(wire[FuseV1Options.RunAsNode]).toBe(DISABLE);
    expect(wire[FuseV1Options.EnableNodeOptionsEnvironmentVariable]).toBe(DISABLE);
    expect(wire[FuseV1Options.EnableNodeCliInspectArguments]).toBe(DISABLE);
    expect(wire[FuseV1Options.GrantFileProtocolExtraPrivileges]).toBe(DISABLE);
    expect(wire[FuseV1Options.EnableCookieEncryption]).toBe(ENABLE);
    // Unpacked (development), the app is not in an asar archive.
    expect(wire[FuseV1Options.OnlyLoadAppFromAsar]).toBe(DISABLE);
  });

  it('when packaged, load the app from its asar archive only, with its integrity checked', async () => {
    const binary = fakeElectronBinary();
    await flipInspectorFuses(binary, true);
    const wire = (await getCurrentFuseWire(binary)) as unknown as Record<number, number>;
    expect(wire[FuseV1Options.OnlyLoadAppFromAsar]).toBe(ENABLE);
    expect(wire[FuseV1Options.EnableEmbeddedAsarIntegrityValidation]).toBe(ENABLE);
    expect(wire[FuseV1Options.RunAsNode]).toBe(DISABLE);
  });
});

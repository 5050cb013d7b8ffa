#!/usr/bin/env node
// Electron fuses of the inspector: flipped in the Electron binary when it is packaged (they are
// bits in the binary, not settings the app can change at run time).
//   node dist/main/electron-fuses.js <path to the electron binary> [--packaged]
import { pathToFileURL } from 'node:url';

import { flipFuses, FuseV1Options, FuseVersion, type FuseV1Config } from '@electron/fuses';

/**
 * The fuses: no `ELECTRON_RUN_AS_NODE`, no `NODE_OPTIONS`, no `--inspect` arguments, so the
 * binary cannot be turned into a plain Node.js that reads the user's broker passwords; cookies
 * encrypted; no extra privileges for `file://` (the renderer is served over `app://`). When
 * packaged, the app is loaded from its asar archive only, and the archive's integrity is checked.
 * Every fuse is set explicitly (`strictlyRequireAllFuses`): an Electron with new fuses fails the
 * flip until they are decided here.
 */
export function inspectorFuses(packaged: boolean): FuseV1Config {
  return {
    version: FuseVersion.V1,
    strictlyRequireAllFuses: true,
    resetAdHocDarwinSignature: process.platform === 'darwin',
    [FuseV1Options.RunAsNode]: false,
    [FuseV1Options.EnableCookieEncryption]: true,
    [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
    [FuseV1Options.EnableNodeCliInspectArguments]: false,
    [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: packaged,
    [FuseV1Options.OnlyLoadAppFromAsar]: packaged,
    [FuseV1Options.LoadBrowserProcessSpecificV8Snapshot]: false,
    [FuseV1Options.GrantFileProtocolExtraPrivileges]: false,
  };
}

/** Flips the inspector's fuses in an Electron binary (or a `.app` bundle). */
export async function flipInspectorFuses(electronBinary: string, packaged: boolean): Promise<void> {
  await flipFuses(electronBinary, inspectorFuses(packaged));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const binary = process.argv[2];
  if (binary === undefined) {
    console.error('usage: node dist/main/electron-fuses.js <path to the electron binary> [--packaged]');
    process.exit(2);
  }
  await flipInspectorFuses(binary, process.argv.includes('--packaged'));
  console.log(`Fuses flipped in ${binary}.`);
}

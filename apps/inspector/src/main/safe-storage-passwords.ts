import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { safeStorage } from 'electron';

import type { PasswordSource } from '../backend/inspector-backend.js';
import type { ConnectionProfile } from '../shared/connection-profile.js';

/**
 * Profile passwords for the desktop app, encrypted with Electron `safeStorage` (the OS keychain,
 * DPAPI or libsecret) in `<userData>/passwords.json`; never written in plain text. A profile
 * without a stored password falls back to the environment variable its `passwordEnv` names.
 */
export class SafeStoragePasswords {
  readonly #file: string;

  constructor(userData: string) {
    this.#file = join(userData, 'passwords.json');
  }

  #read(): Record<string, string> {
    if (!existsSync(this.#file)) return {};
    return JSON.parse(readFileSync(this.#file, 'utf8')) as Record<string, string>;
  }

  /** Encrypts and stores the password of a profile. */
  save(profileId: string, password: string): void {
    if (!safeStorage.isEncryptionAvailable()) throw new Error('No OS encryption is available: keep the password in the environment variable named by passwordEnv.');
    const stored = this.#read();
    stored[profileId] = safeStorage.encryptString(password).toString('base64');
    writeFileSync(this.#file, JSON.stringify(stored), { mode: 0o600 });
  }

  readonly source: PasswordSource = (profile: ConnectionProfile) => {
    const encrypted = this.#read()[profile.id];
    if (encrypted !== undefined && safeStorage.isEncryptionAvailable()) return safeStorage.decryptString(Buffer.from(encrypted, 'base64'));
    return profile.passwordEnv === undefined ? undefined : process.env[profile.passwordEnv];
  };
}

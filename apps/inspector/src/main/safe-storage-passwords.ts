import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { safeStorage } from 'electron';

import { PROFILE_ID } from '../backend/connection-profiles.js';
import type { PasswordSource } from '../backend/inspector-backend.js';
import type { ConnectionProfile } from '../shared/connection-profile.js';

/** A password that cannot be stored safely, or a request to store one that is off contract. */
export class PasswordStoreError extends Error {
  override readonly name = 'PasswordStoreError';
}

/** One stored password: encrypted, and bound to the host it was given for. */
interface StoredPassword {
  /** `host:port` of the profile's URL when the password was saved. */
  readonly host: string;
  /** The `safeStorage` ciphertext, base64. */
  readonly secret: string;
}

/** `host:port` a profile connects to (the first of a list); a password is only ever sent there. */
export function hostOf(profile: ConnectionProfile): string {
  try {
    return new URL(profile.url.split(',')[0]!.trim()).host;
  } catch {
    return '';
  }
}

function isStored(value: unknown): value is StoredPassword {
  return typeof value === 'object' && value !== null && typeof (value as StoredPassword).host === 'string' && typeof (value as StoredPassword).secret === 'string';
}

/**
 * Profile passwords for the desktop app, encrypted with Electron `safeStorage` (the OS keychain,
 * DPAPI or libsecret) in `<userData>/passwords.json`; never written in plain text. On Linux
 * without a secret service, `safeStorage` would fall back to its `basic_text` backend (a
 * hard-coded key): saving is then refused. Each password is bound to the host of the profile it
 * was saved for, so editing the profile's URL never sends it to another host. A profile without
 * a stored password (for its host) falls back to `fallback` (the command line's URL, or the
 * environment variable its `passwordEnv` names).
 */
export class SafeStoragePasswords {
  readonly #file: string;
  readonly #fallback: PasswordSource;

  constructor(userData: string, fallback: PasswordSource) {
    this.#file = join(userData, 'passwords.json');
    this.#fallback = fallback;
  }

  /** The stored passwords by profile id; a file that is not ours reads as empty. */
  #read(): Map<string, StoredPassword> {
    const stored = new Map<string, StoredPassword>();
    if (!existsSync(this.#file)) return stored;
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(this.#file, 'utf8'));
    } catch {
      return stored;
    }
    if (typeof parsed !== 'object' || parsed === null) return stored;
    for (const [id, entry] of Object.entries(parsed)) if (PROFILE_ID.test(id) && isStored(entry)) stored.set(id, entry);
    return stored;
  }

  /** Encrypts and stores the password of a profile, bound to its current host. */
  save(profile: ConnectionProfile, password: string): void {
    if (!PROFILE_ID.test(profile.id)) throw new PasswordStoreError('The profile id must be 1 to 100 characters of A-Z a-z 0-9 _ . -.');
    if (!safeStorage.isEncryptionAvailable()) throw new PasswordStoreError('No OS encryption is available: keep the password in the environment variable named by passwordEnv.');
    if (process.platform === 'linux' && safeStorage.getSelectedStorageBackend() === 'basic_text') {
      throw new PasswordStoreError('No secret service (GNOME Keyring, KWallet) is running: Electron would store the password with a fixed key. Keep it in the environment variable named by passwordEnv.');
    }
    const host = hostOf(profile);
    if (host === '') throw new PasswordStoreError(`Profile '${profile.id}' has no host to bind its password to.`);
    const stored = this.#read();
    stored.set(profile.id, { host, secret: safeStorage.encryptString(password).toString('base64') });
    writeFileSync(this.#file, JSON.stringify(Object.fromEntries(stored)), { mode: 0o600 });
  }

  readonly source: PasswordSource = (profile: ConnectionProfile) => {
    const entry = this.#read().get(profile.id);
    if (entry !== undefined && entry.host === hostOf(profile) && safeStorage.isEncryptionAvailable()) {
      try {
        return safeStorage.decryptString(Buffer.from(entry.secret, 'base64'));
      } catch {
        // Encrypted by another user or machine: as if none were stored.
      }
    }
    return this.#fallback(profile);
  };
}

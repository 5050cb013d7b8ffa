import { readFileSync } from 'node:fs';

import { ConfigurationError } from '@cloudbus/core';

import { BROKER_KINDS, NATS_SECRET_KINDS, type BrokerKind, type ConnectionProfile, type NatsSecretKind } from '../shared/connection-profile.js';
import type { PasswordSource } from './inspector-backend.js';

/** What a profile id may be: 1 to 100 characters of A-Z a-z 0-9 _ . -. */
export const PROFILE_ID = /^[A-Za-z0-9_.-]{1,100}$/;
const SCHEMES: Readonly<Record<BrokerKind, readonly string[]>> = {
  rabbitmq: ['amqp:', 'amqps:'],
  nats: ['nats:', 'tls:'],
  mqtt: ['mqtt:', 'mqtts:', 'ws:', 'wss:'],
};

function optionalText(raw: Record<string, unknown>, name: string, where: string): string | undefined {
  const value = raw[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw new ConfigurationError(`${where}: '${name}' must be a non-empty string.`);
  return value;
}

function tlsOption(raw: Record<string, unknown>, where: string): Readonly<Record<string, string | boolean>> | undefined {
  const value = raw['tls'];
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ConfigurationError(`${where}: 'tls' must be an object of the transport's TLS settings.`);
  const tls: Record<string, string | boolean> = {};
  for (const [key, setting] of Object.entries(value as Record<string, unknown>)) {
    if (typeof setting !== 'string' && typeof setting !== 'boolean') throw new ConfigurationError(`${where}: 'tls.${key}' must be a string or a boolean.`);
    tls[key] = setting;
  }
  return tls;
}

/** A profile read from the command line or the environment, and the password its URL held (taken out of the URL). */
export interface ParsedProfile {
  readonly profile: ConnectionProfile;
  readonly password: string | undefined;
}

/**
 * Reads and checks one connection profile. `allowPassword` is false for profiles read from a file:
 * a password in a file's URL is refused, it belongs in the environment variable named by
 * `passwordEnv` (web mode) or in the desktop app's encrypted store. Where it is allowed (command
 * line, `CLOUDBUS_URL`), the password is taken out of the URL and returned apart: the profile,
 * which the UI, exports and logs see, never holds it.
 */
export function parseProfile(raw: unknown, where: string, allowPassword: boolean): ParsedProfile {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigurationError(`${where}: a profile must be an object.`);
  const record = raw as Record<string, unknown>;
  const id = record['id'];
  if (typeof id !== 'string' || !PROFILE_ID.test(id)) throw new ConfigurationError(`${where}: 'id' must be 1 to 100 characters of A-Z a-z 0-9 _ . -.`);
  const broker = record['broker'];
  if (!BROKER_KINDS.includes(broker as BrokerKind)) throw new ConfigurationError(`${where}: 'broker' must be one of ${BROKER_KINDS.join(', ')}.`);
  const kind = broker as BrokerKind;
  const url = record['url'];
  if (typeof url !== 'string') throw new ConfigurationError(`${where}: 'url' is required, such as 'amqp://guest@127.0.0.1:5672'.`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigurationError(`${where}: 'url' is not a URL.`);
  }
  if (!SCHEMES[kind].includes(parsed.protocol)) {
    throw new ConfigurationError(`${where}: a ${kind} URL starts with ${SCHEMES[kind].map((s) => `${s}//`).join(' or ')}.`);
  }
  if (!allowPassword && parsed.password !== '') {
    throw new ConfigurationError(`${where}: profile '${id}' has a password in its URL. Remove it and name an environment variable holding it in 'passwordEnv'.`);
  }
  let password: string | undefined;
  if (parsed.password !== '') {
    try {
      password = decodeURIComponent(parsed.password);
    } catch {
      throw new ConfigurationError(`${where}: the password in the URL is not valid percent-encoding.`);
    }
    parsed.password = '';
  }
  const secret = record['secret'];
  if (secret !== undefined && (kind !== 'nats' || !NATS_SECRET_KINDS.includes(secret as NatsSecretKind))) {
    throw new ConfigurationError(`${where}: 'secret' is for NATS profiles, one of ${NATS_SECRET_KINDS.join(', ')}.`);
  }
  const credsFile = optionalText(record, 'credsFile', where);
  if (credsFile !== undefined && kind !== 'nats') throw new ConfigurationError(`${where}: 'credsFile' is for NATS profiles.`);
  const profile: ConnectionProfile = {
    id,
    name: optionalText(record, 'name', where) ?? id,
    broker: kind,
    url: password === undefined ? url : parsed.toString(),
    passwordEnv: optionalText(record, 'passwordEnv', where),
    exchange: optionalText(record, 'exchange', where),
    deadLetterExchange: optionalText(record, 'deadLetterExchange', where),
    stream: optionalText(record, 'stream', where),
    deadLetterStream: optionalText(record, 'deadLetterStream', where),
    subjectPrefix: optionalText(record, 'subjectPrefix', where),
    topicPrefix: optionalText(record, 'topicPrefix', where),
    secret: secret as NatsSecretKind | undefined,
    credsFile,
    tls: tlsOption(record, where),
  };
  return { profile, password };
}

/** Reads a profiles file: `{ "profiles": [...] }` or an array. */
export function readProfilesFile(path: string): ConnectionProfile[] {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigurationError(`Cannot read the profiles file '${path}': ${(error as Error).message}`, { cause: error });
  }
  const list = Array.isArray(json) ? json : (json as { profiles?: unknown } | null)?.profiles;
  if (!Array.isArray(list)) throw new ConfigurationError(`The profiles file '${path}' must hold an array, or { "profiles": [...] }.`);
  return list.map((raw, index) => parseProfile(raw, `${path} [${index}]`, false).profile);
}

/** Profiles, and where their passwords come from. */
export interface LoadedProfiles {
  readonly profiles: ConnectionProfile[];
  /**
   * The password given in a command-line or `CLOUDBUS_URL` URL (kept here, out of the profile),
   * else the environment variable named by the profile's `passwordEnv`.
   */
  readonly passwords: PasswordSource;
}

/**
 * Connection profiles from, in order: `--profiles <file>` (or `CLOUDBUS_INSPECTOR_PROFILES`),
 * `--broker <kind> --url <url> [--id <id>] [--password-env <VAR>]`, then `CLOUDBUS_TRANSPORT` + `CLOUDBUS_URL` as the profile
 * `default`. Ids must be unique.
 */
export function loadProfiles(argv: readonly string[], env: NodeJS.ProcessEnv): LoadedProfiles {
  const flag = (name: string): string | undefined => {
    const index = argv.indexOf(name);
    return index === -1 ? undefined : argv[index + 1];
  };
  const profiles: ConnectionProfile[] = [];
  const given = new Map<string, string>();
  const add = ({ profile, password }: ParsedProfile): void => {
    profiles.push(profile);
    if (password !== undefined) given.set(profile.id, password);
  };
  const file = flag('--profiles') ?? env['CLOUDBUS_INSPECTOR_PROFILES'];
  if (file !== undefined) profiles.push(...readProfilesFile(file));
  const broker = flag('--broker');
  const url = flag('--url');
  if (broker !== undefined || url !== undefined) {
    const passwordEnv = flag('--password-env');
    add(parseProfile({ id: flag('--id') ?? 'cli', broker, url, ...(passwordEnv === undefined ? {} : { passwordEnv }) }, 'command line', true));
  }
  const transport = env['CLOUDBUS_TRANSPORT'];
  const envUrl = env['CLOUDBUS_URL'];
  if (transport !== undefined && transport !== 'memory' && envUrl !== undefined) {
    add(parseProfile({ id: 'default', broker: transport, url: envUrl }, 'CLOUDBUS_TRANSPORT / CLOUDBUS_URL', true));
  }
  const ids = new Set<string>();
  for (const profile of profiles) {
    if (ids.has(profile.id)) throw new ConfigurationError(`Two connection profiles have the id '${profile.id}'; ids must be unique.`);
    ids.add(profile.id);
  }
  const passwords: PasswordSource = (profile) => given.get(profile.id) ?? (profile.passwordEnv === undefined ? undefined : env[profile.passwordEnv]);
  return { profiles, passwords };
}

#!/usr/bin/env node
/* global process, URL */
// `pnpm test:faults [--long] [vitest arguments]`: runs the fault battery; `--long` sets
// FAULTS_LONG=1 (each case repeated FAULTS_REPEAT times, default 5, with random timing).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const long = args.includes('--long');
const rest = args.filter((arg) => arg !== '--long');
const root = fileURLToPath(new URL('../..', import.meta.url));
const result = spawnSync('npx', ['vitest', 'run', '--config', 'test/faults/vitest.faults.config.ts', ...rest], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, ...(long ? { FAULTS_LONG: '1' } : {}) },
});
process.exit(result.status ?? 1);

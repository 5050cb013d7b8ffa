#!/usr/bin/env node
/* global process, URL, console */
// `pnpm test:faults [--long] [vitest arguments]`: runs the fault battery.
//
// Phase 1 runs the cases that leave the brokers alone, one vitest process per target (memory,
// rabbitmq, nats, mqtt) side by side: most of a case is waiting (backoffs, quiet periods, process
// starts), and every case has names of its own on the broker. Phase 2 then runs the files that
// restart brokers or start clusters (`*.destructive.spec.ts`), alone, one at a time. Every
// process appends to one results file; the last writes `results/latest.md`.
//
// `--long` sets FAULTS_LONG=1: each case FAULTS_REPEAT times (default 5) with random timing.
// `--steady` runs phase 1 only, `--destructive` phase 2 only (appending to the results of the last
// run, so the two can be run apart). FAULTS_TARGETS=memory,nats limits the targets.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const flags = ['--long', '--steady', '--destructive'];
const long = args.includes('--long');
const steadyOnly = args.includes('--steady');
const destructiveOnly = args.includes('--destructive');
const rest = args.filter((arg) => !flags.includes(arg));
const root = fileURLToPath(new URL('../..', import.meta.url));
const targets = (process.env['FAULTS_TARGETS'] ?? 'memory,rabbitmq,nats,mqtt').split(',').map((target) => target.trim()).filter(Boolean);
const config = 'test/faults/vitest.faults.config.ts';

// One results file for the whole run; the vitest processes only append to it.
const resultsDir = process.env['FAULTS_RESULTS_DIR'] ?? join(root, 'test', 'faults', 'results');
mkdirSync(resultsDir, { recursive: true });
if (!destructiveOnly) writeFileSync(join(resultsDir, 'results.jsonl'), '');
const env = { ...process.env, FAULTS_RESULTS_APPEND: '1', ...(long ? { FAULTS_LONG: '1' } : {}) };

/**
 * Runs vitest over the files of `phase` (`steady` or `destructive`, see the config) for
 * `targetList`; lines are prefixed with `label` when given.
 */
function vitest(label, targetList, phase) {
  return new Promise((resolve) => {
    const child = spawn('npx', ['vitest', 'run', '--config', config, '--passWithNoTests', ...rest], {
      cwd: root,
      env: { ...env, FAULTS_TARGETS: targetList.join(','), FAULTS_PHASE: phase },
      stdio: label === undefined ? 'inherit' : ['ignore', 'pipe', 'pipe'],
    });
    if (label !== undefined) {
      for (const stream of [child.stdout, child.stderr]) {
        let buffered = '';
        stream.setEncoding('utf8');
        stream.on('data', (chunk) => {
          buffered += chunk;
          const lines = buffered.split('\n');
          buffered = lines.pop() ?? '';
          for (const line of lines) if (line.trim() !== '') console.log(`[${label}] ${line}`);
        });
        stream.on('end', () => {
          if (buffered.trim() !== '') console.log(`[${label}] ${buffered}`);
        });
      }
    }
    child.on('close', (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
  });
}

const started = Date.now();
const elapsed = () => `${Math.round((Date.now() - started) / 1000)} s`;
const codes = [];
if (!destructiveOnly) {
  console.log(`[faults] phase 1: cases that leave the brokers running, ${targets.join(', ')} side by side`);
  codes.push(...(await Promise.all(targets.map((target) => vitest(target, [target], 'steady')))));
  console.log(`[faults] phase 1 done after ${elapsed()}`);
}
if (!steadyOnly) {
  console.log('[faults] phase 2: broker restarts and clusters, one at a time');
  codes.push(await vitest(undefined, targets, 'destructive'));
}
const failed = codes.some((code) => code !== 0);
console.log(`[faults] ${failed ? 'FAILED' : 'passed'} after ${elapsed()}`);
process.exit(failed ? 1 : 0);

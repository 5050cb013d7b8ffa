#!/usr/bin/env node
import { runCli } from './run-cli.js';

const interrupted = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => interrupted.abort());
}
process.exitCode = await runCli(process.argv.slice(2), process.env, interrupted.signal);

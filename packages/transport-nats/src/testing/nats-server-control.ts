import { execFileSync } from 'node:child_process';

import { waitForPort } from '@cloudbus/test/brokers';

/**
 * Stops and starts the local nats-server (run with start-stop-daemon, as this machine and CI
 * start it), for the destructive tests. Whatever happens, {@link ensureNatsServer} leaves it running.
 */
const SERVER = '/usr/sbin/nats-server';
const PORT = 4222;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const waitForNats = (open: boolean) => waitForPort('127.0.0.1', PORT, open);

/** Whether this machine runs the server these controls manage. */
export function canControlNatsServer(): boolean {
  try {
    execFileSync('start-stop-daemon', ['--status', '--exec', SERVER], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Starts the server unless it runs, and waits until it listens. */
export async function ensureNatsServer(): Promise<void> {
  execFileSync(
    'start-stop-daemon',
    ['--start', '--oknodo', '--background', '--exec', SERVER, '--', '-a', '127.0.0.1', '-p', String(PORT), '-js', '-sd', '/var/lib/nats-server', '-l', '/var/log/nats-server.log'],
    { stdio: 'ignore' },
  );
  await waitForNats(true);
}

/** Stops the server, keeps it down about `downMs`, and starts it again. */
export async function restartNatsServer(downMs: number): Promise<void> {
  try {
    execFileSync('start-stop-daemon', ['--stop', '--oknodo', '--retry', '30', '--exec', SERVER], { stdio: 'ignore' });
    await waitForNats(false);
    await sleep(downMs);
  } finally {
    await ensureNatsServer();
  }
}

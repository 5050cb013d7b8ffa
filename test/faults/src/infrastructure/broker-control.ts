import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';

import { isListening } from '@cloudbus/test/brokers';

import type { FaultBrokerKind } from './fault-broker.js';
import { sleep } from './timing.js';

const run = promisify(execFile);

/** How a broker is taken down: a polite stop, or a crash. */
export type StopSignal = 'SIGTERM' | 'SIGKILL';

const PORTS: Record<FaultBrokerKind, number> = { rabbitmq: 5672, nats: 4222, mqtt: 1883 };

/** Pids of the processes whose command line contains every one of `parts`. */
async function pidsOf(name: string, parts: readonly string[]): Promise<number[]> {
  const { stdout } = await run('pgrep', ['-x', name]).catch(() => ({ stdout: '' }));
  const pids: number[] = [];
  for (const line of stdout.split('\n')) {
    const pid = Number(line.trim());
    if (!Number.isSafeInteger(pid) || pid <= 0) continue;
    let command = '';
    try {
      command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      continue;
    }
    if (parts.every((part) => command.includes(part))) pids.push(pid);
  }
  return pids;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
    await sleep(200);
  }
}

async function killAndWait(pids: readonly number[], signal: StopSignal): Promise<void> {
  for (const pid of pids) process.kill(pid, signal);
  await waitFor(async () => pids.every((pid) => !isAlive(pid)), 120_000, `processes ${pids.join(', ')} still alive after ${signal}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops and starts the local brokers the way the brief describes, for the broker-restart cases.
 * Always call {@link ensureRunning} in a `finally`: other suites share these brokers.
 */
export const brokerControl = {
  /** Takes the broker down with `signal` (RabbitMQ: the Erlang VM; SIGTERM is `rabbitmqctl stop`). */
  async stop(kind: FaultBrokerKind, signal: StopSignal): Promise<void> {
    switch (kind) {
      case 'rabbitmq':
        if (signal === 'SIGTERM') await run('rabbitmqctl', ['stop'], { timeout: 120_000 });
        else await killAndWait(await pidsOf('beam.smp', [' -s rabbit ']), 'SIGKILL');
        // epmd and the VM can take a moment to let go of the port.
        await waitFor(async () => !(await isListening('127.0.0.1', PORTS.rabbitmq)), 60_000, 'RabbitMQ still listening');
        return;
      case 'nats':
        return killAndWait(await pidsOf('nats-server', ['-p 4222']), signal);
      case 'mqtt':
        return killAndWait(await pidsOf('mosquitto', ['/etc/mosquitto/mosquitto.conf']), signal);
    }
  },

  /** Starts the broker (when it is not running) and waits until it serves. */
  async start(kind: FaultBrokerKind): Promise<void> {
    switch (kind) {
      case 'rabbitmq': {
        if (!(await isListening('127.0.0.1', PORTS.rabbitmq))) {
          const running = await run('rabbitmqctl', ['await_startup', '--timeout', '3'], { timeout: 30_000 }).then(
            () => true,
            () => false,
          );
          if (!running) {
            const detached = () =>
              // rabbitmq-server -detached forks and returns; the app is awaited below.
              new Promise<void>((resolve) => spawn('rabbitmq-server', ['-detached'], { stdio: 'ignore' }).once('exit', () => resolve()));
            const vm = await pidsOf('beam.smp', [' -s rabbit ']);
            if (vm.length === 0) {
              await detached();
            } else {
              // A VM still there may be one on its way out (after `rabbitmqctl stop`): then start afresh.
              const started = await run('rabbitmqctl', ['start_app'], { timeout: 180_000 }).then(() => true, () => false);
              if (!started) {
                await waitFor(async () => (await pidsOf('beam.smp', [' -s rabbit '])).length === 0, 60_000, 'RabbitMQ VM still exiting');
                await detached();
              }
            }
          }
        }
        // Right after `rabbitmq-server -detached` the node is not registered with epmd yet, and
        // await_startup fails at once ("not running at all"): ask again until it answers.
        await waitFor(
          () => run('rabbitmqctl', ['await_startup', '--timeout', '10'], { timeout: 30_000 }).then(() => true, () => false),
          240_000,
          'RabbitMQ not started',
        );
        await waitFor(() => isListening('127.0.0.1', PORTS.rabbitmq), 180_000, 'RabbitMQ not listening');
        return;
      }
      case 'nats':
        if ((await pidsOf('nats-server', ['-p 4222'])).length === 0) {
          await run('start-stop-daemon', [
            '--start', '--oknodo', '--background', '--exec', '/usr/sbin/nats-server', '--',
            '-a', '127.0.0.1', '-p', '4222', '-js', '-sd', '/var/lib/nats-server', '-l', '/var/log/nats-server.log',
          ]);
        }
        await waitFor(() => isListening('127.0.0.1', PORTS.nats), 60_000, 'NATS not listening');
        return;
      case 'mqtt':
        if ((await pidsOf('mosquitto', ['/etc/mosquitto/mosquitto.conf'])).length === 0) {
          await run('mosquitto', ['-d', '-c', '/etc/mosquitto/mosquitto.conf']);
        }
        await waitFor(() => isListening('127.0.0.1', PORTS.mqtt), 60_000, 'Mosquitto not listening');
        return;
    }
  },

  /** Stops with `signal`, waits `downMs`, starts again. Starts it again even when stopping failed. */
  async restart(kind: FaultBrokerKind, signal: StopSignal, downMs = 500): Promise<void> {
    try {
      await brokerControl.stop(kind, signal);
      await sleep(downMs);
    } finally {
      await brokerControl.start(kind);
    }
  },

  /** Leaves the broker running, whatever happened: for `finally` and `afterAll`. */
  ensureRunning(kind: FaultBrokerKind): Promise<void> {
    return brokerControl.start(kind);
  },
};

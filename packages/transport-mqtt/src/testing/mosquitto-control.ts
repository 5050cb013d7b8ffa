import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';

/**
 * Stops and starts the local Mosquitto (started with `mosquitto -d -c /etc/mosquitto/mosquitto.conf`),
 * for the destructive tests. Whatever happens, {@link ensureMosquitto} leaves it running.
 */
export const MOSQUITTO_PID_FILE = '/run/mosquitto/mosquitto.pid';
const CONFIG = '/etc/mosquitto/mosquitto.conf';
const PORT = 1883;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function listening(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: PORT }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** Whether this machine runs the Mosquitto these controls manage (its pid file is readable). */
export function canControlMosquitto(): boolean {
  try {
    readFileSync(MOSQUITTO_PID_FILE);
    return true;
  } catch {
    return false;
  }
}

/** Starts Mosquitto unless it listens, and waits until it does. */
export async function ensureMosquitto(): Promise<void> {
  if (await listening()) return;
  execFileSync('mosquitto', ['-d', '-c', CONFIG]);
  await waitUntil(listening, 30_000, 'mosquitto to listen');
}

/** Stops Mosquitto gracefully (SIGTERM: it writes its persistence file) and waits until it has exited. */
export async function stopMosquitto(): Promise<void> {
  const pid = Number(readFileSync(MOSQUITTO_PID_FILE, 'utf8').trim());
  process.kill(pid, 'SIGTERM');
  await waitUntil(() => !isRunning(pid), 30_000, 'mosquitto to exit');
}

/** Stops Mosquitto, keeps it down about `downMs`, and starts it again. */
export async function restartMosquitto(downMs: number): Promise<void> {
  try {
    await stopMosquitto();
    await sleep(downMs);
  } finally {
    await ensureMosquitto();
  }
}

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

import { isListening, waitForPort } from '@cloudbus/test/brokers';

/**
 * Stops and starts the local Mosquitto (started with `mosquitto -d -c /etc/mosquitto/mosquitto.conf`),
 * for the destructive tests. Whatever happens, {@link ensureMosquitto} leaves it running.
 */
export const MOSQUITTO_PID_FILE = '/run/mosquitto/mosquitto.pid';
const CONFIG = '/etc/mosquitto/mosquitto.conf';
const PORT = 1883;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
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
  if (await isListening('127.0.0.1', PORT)) return;
  execFileSync('mosquitto', ['-d', '-c', CONFIG]);
  await waitForPort('127.0.0.1', PORT, true);
}

/** Stops Mosquitto gracefully (SIGTERM: it writes its persistence file) and waits until it has exited. */
export async function stopMosquitto(): Promise<void> {
  const pid = Number(readFileSync(MOSQUITTO_PID_FILE, 'utf8').trim());
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 30_000;
  while (isRunning(pid)) {
    if (Date.now() > deadline) throw new Error(`mosquitto (pid ${pid}) did not exit within 30 s.`);
    await sleep(50);
  }
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

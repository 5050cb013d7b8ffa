import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Stops and starts the local RabbitMQ application (`rabbitmqctl stop_app` / `start_app`), for the
 * destructive tests. {@link ensureRunning} is safe to call at any time, and is what a test's
 * `finally` calls so the broker is always left running.
 */
export const brokerControl = {
  async stopApp(): Promise<void> {
    await run('rabbitmqctl', ['stop_app'], { timeout: 120_000 });
  },

  async startApp(): Promise<void> {
    await run('rabbitmqctl', ['start_app'], { timeout: 180_000 });
    await run('rabbitmqctl', ['await_startup'], { timeout: 180_000 });
  },

  /** Starts the application when it is stopped, then waits until it is up. */
  async ensureRunning(): Promise<void> {
    try {
      await run('rabbitmqctl', ['await_startup', '--timeout', '5'], { timeout: 30_000 });
    } catch {
      await brokerControl.startApp();
    }
  },
};

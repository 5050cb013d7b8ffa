import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import type { FaultConsumerConfig } from '../process/fault-consumer.js';

const processDir = fileURLToPath(new URL('../process/', import.meta.url));

/**
 * A child process of the battery: a fault consumer ({@link FaultConsumerConfig}) running in a child process, so a case can SIGKILL
 * it at any point. The child runs the TypeScript sources through `process/register-ts.mjs`.
 */
export class ChildConsumer {
  readonly #child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #output = '';

  private constructor(script: string, env: Readonly<Record<string, string>>) {
    this.#child = spawn(process.execPath, ['--conditions=@cloudbus/source', '--import', `${processDir}register-ts.mjs`, `${processDir}${script}`], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (this.#output += chunk));
    this.#child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.#output += chunk));
    this.exited = new Promise((resolve) => this.#child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  /** Starts a consumer and waits until its subscriptions are in place. */
  static async start(config: FaultConsumerConfig, timeoutMs = 90_000): Promise<ChildConsumer> {
    const consumer = new ChildConsumer('consumer-process.ts', { CLOUDBUS_FAULT_CONSUMER: JSON.stringify(config) });
    await consumer.#waitFor('ready\n', timeoutMs);
    return consumer;
  }

  /** Runs another script of `process/` (TypeScript) with extra environment; does not wait. */
  static spawn(script: string, env: Readonly<Record<string, string>>): ChildConsumer {
    return new ChildConsumer(script, env);
  }

  /** What the child printed (stdout and stderr). */
  get output(): string {
    return this.#output;
  }

  /** True while the process runs. */
  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** Kills the process at once (no drain, no ack), and waits for it to be gone. */
  async kill(): Promise<void> {
    if (this.running) this.#child.kill('SIGKILL');
    await this.exited;
  }

  /** Stops the bus gracefully (SIGTERM: drain, hand back, close); SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 30_000): Promise<void> {
    if (!this.running) return;
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }

  #waitFor(text: string, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const check = () => {
        if (this.#output.includes(text)) return finish();
        if (!this.running) return finish(new Error(`fault consumer exited before '${text.trim()}':\n${this.#output}`));
      };
      const timer = setTimeout(() => finish(new Error(`fault consumer not '${text.trim()}' within ${timeoutMs} ms:\n${this.#output}`)), timeoutMs);
      const finish = (error?: Error) => {
        clearTimeout(timer);
        this.#child.stdout!.off('data', check);
        this.#child.off('exit', check);
        if (error === undefined) resolve();
        else {
          this.#child.kill('SIGKILL');
          reject(error);
        }
      };
      this.#child.stdout!.on('data', check);
      this.#child.once('exit', check);
      check();
    });
  }
}

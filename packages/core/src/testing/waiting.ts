import type { EventContext } from '../handlers/event-context.js';
import type { CloudEvent } from '../envelope/cloud-event.js';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Received {
  readonly event: object;
  readonly cloudEvent: CloudEvent;
  readonly attempt: number;
  readonly at: number;
}

/** Collects what handlers received and waits for counts (shared by the contract suites). */
export class Recorder {
  readonly received: Received[] = [];
  #waiters: { count: number; resolve: () => void }[] = [];

  record(event: object, context: EventContext): void {
    this.received.push({ event, cloudEvent: context.cloudEvent, attempt: context.attempt, at: Date.now() });
    this.#waiters = this.#waiters.filter((waiter) => {
      if (this.received.length < waiter.count) return true;
      waiter.resolve();
      return false;
    });
  }

  async waitForCount(count: number, timeoutMs: number): Promise<void> {
    if (this.received.length >= count) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`Expected ${count} deliveries within ${timeoutMs} ms, got ${this.received.length}.`)),
        timeoutMs,
      );
      this.#waiters.push({
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }
}

export async function eventually<T>(read: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}


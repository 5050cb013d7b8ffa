import { EventHandler, retry, type EventContext } from '@cloudbus/core';

import { KitchenCookingStarted } from './kitchen-cooking-started.js';
import { KitchenOrderReady } from './kitchen-order-ready.js';
import { KitchenTicketQueued } from './kitchen-ticket-queued.js';

/** Waits `ms`, or rejects when `signal` aborts (the bus stops: the ticket goes back to the broker). */
function bake(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A simulated oven: takes a ticket, reports cooking started, bakes for the configured time, and
 * reports the order ready, all over the kitchen bus (MQTT in a real store). Several ovens (the
 * bus's concurrency) and several device processes share the tickets.
 */
@EventHandler(KitchenTicketQueued, { retry: retry.fixed({ attempts: 5, delayMs: 500 }) })
export class Oven {
  constructor(
    /** How long one order bakes, in ms. */
    readonly bakeTimeMs: number,
    private readonly onReport: (line: string) => void = () => {},
  ) {}

  async handle(ticket: KitchenTicketQueued, ctx: EventContext): Promise<void> {
    const startedAt = new Date();
    const readyBy = new Date(startedAt.getTime() + this.bakeTimeMs);
    await ctx.publish(new KitchenCookingStarted(ticket.orderId, startedAt.toISOString(), readyBy.toISOString()));
    this.onReport(`🔥 oven: ${ticket.orderId.slice(0, 8)} in (${ticket.items.map((i) => `${i.quantity}× ${i.name}`).join(', ')})`);
    await bake(this.bakeTimeMs, ctx.signal);
    await ctx.publish(new KitchenOrderReady(ticket.orderId, new Date().toISOString()));
    this.onReport(`🍕 oven: ${ticket.orderId.slice(0, 8)} ready`);
  }
}

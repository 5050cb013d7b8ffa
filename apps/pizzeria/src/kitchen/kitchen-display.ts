import { On, retry } from '@cloudbus/core';

import { KitchenCookingStarted } from './kitchen-cooking-started.js';
import { KitchenOrderReady } from './kitchen-order-ready.js';
import { KitchenTicketQueued } from './kitchen-ticket-queued.js';

/** A ticket on the display. */
export interface DisplayedTicket {
  readonly orderId: string;
  readonly items: string;
  readonly state: 'queued' | 'in the oven';
}

/**
 * A simulated kitchen display: shows the open tickets (queued, in the oven) and clears them when
 * an oven reports them ready. Every display shows every ticket: each has subscriptions of its
 * own (see `KitchenDevicesOptions.displayId`).
 */
export class KitchenDisplay {
  readonly #tickets = new Map<string, DisplayedTicket>();

  constructor(private readonly onReport: (line: string) => void = () => {}) {}

  /** The open tickets, oldest first. */
  get tickets(): readonly DisplayedTicket[] {
    return [...this.#tickets.values()];
  }

  @On(KitchenTicketQueued, { retry: retry.none() })
  queued(ticket: KitchenTicketQueued): void {
    this.#tickets.set(ticket.orderId, {
      orderId: ticket.orderId,
      items: ticket.items.map((item) => `${item.quantity}× ${item.name}`).join(', '),
      state: 'queued',
    });
    this.#show();
  }

  @On(KitchenCookingStarted, { retry: retry.none() })
  cooking(report: KitchenCookingStarted): void {
    const ticket = this.#tickets.get(report.orderId);
    if (ticket !== undefined) this.#tickets.set(report.orderId, { ...ticket, state: 'in the oven' });
  }

  @On(KitchenOrderReady, { retry: retry.none() })
  ready(report: KitchenOrderReady): void {
    if (this.#tickets.delete(report.orderId)) this.#show();
  }

  #show(): void {
    const queued = this.tickets.filter((t) => t.state === 'queued').length;
    this.onReport(`📺 display: ${this.#tickets.size} open ticket(s), ${queued} waiting for an oven`);
  }
}

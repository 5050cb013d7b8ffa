import { SubscriptionAdminUnsupportedError } from '../errors.js';
import { canAdministerSubscriptions, type SubscriptionAdmin, type SubscriptionInfo, type Transport } from '../transport/transport.js';

/** Which subscriptions {@link Subscriptions.list} returns. */
export interface SubscriptionFilter {
  /** Only those of this service (as recorded when it last subscribed them, else by the `<service>.` name prefix). */
  readonly service?: string;
}

/** What {@link Subscriptions.remove} did. */
export interface RemovedSubscriptions {
  /** Subscriptions deleted from the broker. */
  readonly removed: readonly string[];
  /** Subscriptions asked for by name that the broker did not have. */
  readonly missing: readonly string[];
}

/**
 * The subscriptions on the broker, the same on every built-in transport: what each one receives
 * (bindings, filter subjects, topic filters) and what its service recorded (handler, types,
 * concurrency, retry policy), and their removal, for a service that is retired or renamed.
 *
 * Reached through `bus.subscriptions` once `start()` has resolved; the `cloudbus describe` and
 * `cloudbus prune` commands use it.
 */
export class Subscriptions {
  readonly #transport: () => Transport;

  /** @param transport the connected transport (called on each use) */
  constructor(transport: () => Transport) {
    this.#transport = transport;
  }

  /** The subscriptions on the broker, sorted by name; with `filter.service`, that service's only. */
  async list(filter: SubscriptionFilter = {}): Promise<SubscriptionInfo[]> {
    const all = await this.#admin().listSubscriptions();
    return all.filter((info) => filter.service === undefined || belongsTo(info, filter.service));
  }

  /**
   * Deletes subscriptions from the broker, with the messages waiting in them: those named, or
   * every one of `{ service }`. Dead letters are kept. A running consumer of a removed
   * subscription stops receiving; stop the service first.
   */
  async remove(selection: { readonly service: string } | readonly string[]): Promise<RemovedSubscriptions> {
    const admin = this.#admin();
    const names = Array.isArray(selection)
      ? [...new Set(selection as readonly string[])]
      : (await this.list({ service: (selection as { readonly service: string }).service })).map((info) => info.name);
    const removed: string[] = [];
    const missing: string[] = [];
    for (const name of names) (await admin.removeSubscription(name) ? removed : missing).push(name);
    return { removed, missing };
  }

  #admin(): SubscriptionAdmin {
    const transport = this.#transport();
    if (!canAdministerSubscriptions(transport)) {
      throw new SubscriptionAdminUnsupportedError(
        `The ${transport.name} transport keeps no registry of its subscriptions (it has no listSubscriptions() and removeSubscription()).`,
      );
    }
    return transport;
  }
}

function belongsTo(info: SubscriptionInfo, service: string): boolean {
  return info.service === undefined ? info.name.startsWith(`${service}.`) : info.service === service;
}

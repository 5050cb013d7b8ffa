// The few parts of Rascal (which ships no type declarations) the benchmark uses.
declare module 'rascal' {
  import type { EventEmitter } from 'node:events';

  export interface SubscriberSession extends EventEmitter {
    cancel(): Promise<void>;
  }

  export interface BrokerAsPromised extends EventEmitter {
    publish(publication: string, message: unknown, overrides?: string | Record<string, unknown>): Promise<EventEmitter>;
    subscribe(subscription: string, overrides?: Record<string, unknown>): Promise<SubscriberSession>;
    shutdown(): Promise<void>;
  }

  const rascal: {
    BrokerAsPromised: { create(config: unknown): Promise<BrokerAsPromised> };
    withDefaultConfig(config: unknown): unknown;
  };
  export default rascal;
}

import type { Delivery, Transport } from '../transport/transport.js';

/** A delivery whose `nack(delayMs)` redelivers at once. */
class ImmediateRetryDelivery implements Delivery {
  constructor(private readonly delivery: Delivery) {}

  get message(): Delivery['message'] {
    return this.delivery.message;
  }

  get attempt(): number {
    return this.delivery.attempt;
  }

  get firstAttemptAt(): number {
    return this.delivery.firstAttemptAt;
  }

  get destination(): string {
    return this.delivery.destination;
  }

  ack(): Promise<void> {
    return this.delivery.ack();
  }

  nack(): Promise<void> {
    return this.delivery.nack(0);
  }

  deadLetter(message: Delivery['message']): Promise<void> {
    return this.delivery.deadLetter(message);
  }
}

/**
 * The transport as it is, except that every redelivery a retry policy asks for happens at once:
 * the test harness's `skipRetryDelays`. Everything else (optional features such as
 * `readDeadLetters` included) goes straight to the transport.
 */
export function withoutRetryDelays(transport: Transport): Transport {
  return new Proxy(transport, {
    get(target, property) {
      if (property === 'subscribe') {
        const subscribe: Transport['subscribe'] = (spec, onDelivery) =>
          target.subscribe(spec, (delivery) => onDelivery(new ImmediateRetryDelivery(delivery)));
        return subscribe;
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

import 'reflect-metadata';

import { On } from '@cloudbus/core';
import { inject, injectable } from 'inversify';

import { Money } from '../domain/money.js';
import { OrderCancelled } from '../events/order-cancelled.js';
import { OrderDelivered } from '../events/order-delivered.js';
import { OrderPlaced } from '../events/order-placed.js';
import { OrderReady } from '../events/order-ready.js';
import { PaymentProcessed } from '../events/payment-processed.js';
import { AnalyticsStore } from '../persistence/analytics-store.js';
import { RetryPolicies } from './retry-policies.js';

/** Order metrics (orders, revenue, average preparation time) for GET /analytics. */
@injectable()
export class AnalyticsProjection {
  constructor(@inject(AnalyticsStore) private readonly analytics: AnalyticsStore) {}

  @On(OrderPlaced, { retry: RetryPolicies.projection })
  placed(_event: OrderPlaced): Promise<void> {
    return this.analytics.add({ orders_placed: 1 });
  }

  @On(PaymentProcessed, { retry: RetryPolicies.projection })
  paid(event: PaymentProcessed): Promise<void> {
    return this.analytics.add({ orders_paid: 1, revenue_cents: Money.toCents(event.amount) });
  }

  @On(OrderReady, { retry: RetryPolicies.projection })
  ready(event: OrderReady): Promise<void> {
    return this.analytics.add({ orders_ready: 1, preparation_ms: Math.round(event.preparationTimeSeconds * 1000) });
  }

  @On(OrderDelivered, { retry: RetryPolicies.projection })
  delivered(_event: OrderDelivered): Promise<void> {
    return this.analytics.add({ orders_delivered: 1 });
  }

  @On(OrderCancelled, { retry: RetryPolicies.projection })
  cancelled(_event: OrderCancelled): Promise<void> {
    return this.analytics.add({ orders_cancelled: 1 });
  }
}

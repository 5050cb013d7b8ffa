import { Money } from '../domain/money.js';
import type { Database } from './database.js';

/** Counters the analytics projection keeps. */
export type Metric = 'orders_placed' | 'orders_paid' | 'revenue_cents' | 'orders_ready' | 'preparation_ms' | 'orders_delivered' | 'orders_cancelled';

/** Order metrics, as GET /analytics shows them. */
export interface AnalyticsReport {
  readonly ordersPlaced: number;
  readonly ordersPaid: number;
  readonly ordersReady: number;
  readonly ordersDelivered: number;
  readonly ordersCancelled: number;
  /** Paid revenue, exact decimal string. */
  readonly revenue: string;
  /** Mean time from payment to ready, in seconds; null before the first order is ready. */
  readonly averagePreparationSeconds: number | null;
}

/** The analytics read model: counters in the database, added to atomically. */
export class AnalyticsStore {
  constructor(private readonly db: Database) {}

  /** Adds to several counters in one transaction. */
  async add(increments: Partial<Record<Metric, number>>): Promise<void> {
    await this.db.transaction(async (tx) => {
      for (const [metric, amount] of Object.entries(increments)) {
        await tx.execute('INSERT INTO analytics (metric, value) VALUES (?, ?) ON CONFLICT (metric) DO UPDATE SET value = analytics.value + excluded.value', [
          metric,
          amount,
        ]);
      }
    });
  }

  async report(): Promise<AnalyticsReport> {
    const rows = await this.db.query<{ metric: Metric; value: number | string }>('SELECT metric, value FROM analytics');
    const value = (metric: Metric): number => Number(rows.find((row) => row.metric === metric)?.value ?? 0);
    const ready = value('orders_ready');
    return {
      ordersPlaced: value('orders_placed'),
      ordersPaid: value('orders_paid'),
      ordersReady: ready,
      ordersDelivered: value('orders_delivered'),
      ordersCancelled: value('orders_cancelled'),
      revenue: Money.format(value('revenue_cents')),
      averagePreparationSeconds: ready === 0 ? null : Math.round(value('preparation_ms') / ready) / 1000,
    };
  }
}

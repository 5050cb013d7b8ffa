import 'reflect-metadata';

import { On } from '@cloudbus/core';
import { inject, injectable } from 'inversify';

import { KitchenCookingStarted } from '../kitchen/kitchen-cooking-started.js';
import { KitchenOrderReady } from '../kitchen/kitchen-order-ready.js';
import { OrderRepository } from '../persistence/order-repository.js';
import { ReportOutOfOrderError } from './report-out-of-order-error.js';
import { RetryPolicies } from './retry-policies.js';

/**
 * Applies what the kitchen devices report (over the kitchen bus) to the orders, which raise
 * OrderCookingStarted and OrderReady on the main bus through the outbox. Reports are idempotent:
 * a report for an order already past that step changes nothing.
 */
@injectable()
export class KitchenReports {
  constructor(@inject(OrderRepository) private readonly orders: OrderRepository) {}

  @On(KitchenCookingStarted, { retry: RetryPolicies.kitchenReports })
  async cookingStarted(report: KitchenCookingStarted): Promise<void> {
    const order = await this.orders.get(report.orderId);
    if (order === undefined || order.status !== 'paid') return;
    order.startCooking(report.startedAt, report.readyBy);
    await this.orders.save(order);
  }

  @On(KitchenOrderReady, { retry: RetryPolicies.kitchenReports })
  async orderReady(report: KitchenOrderReady): Promise<void> {
    const order = await this.orders.get(report.orderId);
    if (order === undefined) return;
    if (order.status === 'paid') throw new ReportOutOfOrderError(`Order ${order.id} is reported ready before its cooking started was applied.`);
    if (order.status !== 'cooking') return;
    order.markReady(report.readyAt);
    await this.orders.save(order);
  }
}

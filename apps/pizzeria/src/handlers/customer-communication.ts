import 'reflect-metadata';

import { On } from '@cloudbus/core';
import { inject, injectable } from 'inversify';

import { DeliveryDelayed } from '../events/delivery-delayed.js';
import { OrderPlaced } from '../events/order-placed.js';
import { OrderReady } from '../events/order-ready.js';
import { EMAIL_SENDER, type EmailSender } from '../notifications/email-sender.js';
import { SMS_SENDER, type SmsSender } from '../notifications/sms-sender.js';
import { OrderRepository } from '../persistence/order-repository.js';
import { RetryPolicies } from './retry-policies.js';

/**
 * Tells customers about their orders by SMS and e-mail. One method per message, so each has its
 * own subscription, retries and dead letters: a failing SMS gateway never re-sends an e-mail,
 * never delays the kitchen, and never affects the order.
 */
@injectable()
export class CustomerCommunication {
  constructor(
    @inject(SMS_SENDER) private readonly sms: SmsSender,
    @inject(EMAIL_SENDER) private readonly email: EmailSender,
    @inject(OrderRepository) private readonly orders: OrderRepository,
  ) {}

  @On(OrderPlaced, { retry: RetryPolicies.sms })
  async confirmBySms(event: OrderPlaced): Promise<void> {
    await this.sms.send({
      to: event.customerPhone,
      orderId: event.orderId,
      text: `Mario's Pizzeria: order ${event.orderId.slice(0, 8)} confirmed, total ${event.total}. Expected at ${event.estimatedDeliveryTime.slice(11, 16)} UTC.`,
    });
  }

  @On(OrderPlaced, { retry: RetryPolicies.email })
  async confirmByEmail(event: OrderPlaced): Promise<void> {
    // Version 1 events (upcast) and customers who gave no address have no e-mail.
    if (event.customerEmail === null || event.customerEmail === undefined) return;
    const lines = event.items.map((line) => `${line.quantity} × ${line.name} at ${line.unitPrice}`).join('\n');
    await this.email.send({
      to: event.customerEmail,
      orderId: event.orderId,
      subject: `Your order ${event.orderId.slice(0, 8)} at Mario's Pizzeria`,
      body: `${lines}\nTotal: ${event.total}\nDelivery to: ${event.deliveryAddress}\nExpected by: ${event.estimatedDeliveryTime}`,
    });
  }

  @On(OrderReady, { retry: RetryPolicies.sms })
  async readyBySms(event: OrderReady): Promise<void> {
    const order = await this.orders.get(event.orderId);
    if (order === undefined) return;
    await this.sms.send({
      to: order.snapshot().phone,
      orderId: event.orderId,
      text: `Mario's Pizzeria: order ${event.orderId.slice(0, 8)} is ready and leaves with a courier soon.`,
    });
  }

  @On(DeliveryDelayed, { retry: RetryPolicies.sms })
  async apologiseBySms(event: DeliveryDelayed): Promise<void> {
    await this.sms.send({
      to: event.customerPhone,
      orderId: event.orderId,
      text: `Mario's Pizzeria: sorry, order ${event.orderId.slice(0, 8)} is running late. Voucher ${event.voucherCode}: ${event.voucherAmount} off your next order.`,
    });
  }
}

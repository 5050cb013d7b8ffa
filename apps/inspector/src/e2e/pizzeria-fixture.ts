import type { Transport } from '@cloudbus/core';
import { SmsGatewayError, createPizzeria, type OrderSnapshot, type Pizzeria, type SmsMessage, type SmsSender } from '@cloudbus/pizzeria';
import { uniqueName } from '@cloudbus/test/brokers';
import type { MqttTransport } from '@cloudbus/transport-mqtt';
import type { DeclaredTopology, RabbitMqTransport } from '@cloudbus/transport-rabbitmq';
import amqp from 'amqplib';

import type { ConnectionProfile } from '../shared/connection-profile.js';

/**
 * Mario's Pizzeria on real brokers for the inspector's end-to-end test: order events on
 * RabbitMQ, kitchen events on MQTT, every bus publishing its telemetry, all under names unique
 * to the run; and the inspector profiles that tap exactly those names.
 */

/** An SMS gateway that refuses the "ready" SMS of one order until it is healed. */
export class SmsGateway implements SmsSender {
  /** The order whose "ready" SMS fails. */
  failReadySmsOf: string | undefined;
  healed = false;
  readonly sent: SmsMessage[] = [];

  send(message: SmsMessage): Promise<void> {
    if (!this.healed && message.orderId === this.failReadySmsOf && message.text.includes('is ready')) {
      return Promise.reject(new SmsGatewayError('SMS gateway unreachable'));
    }
    this.sent.push(message);
    return Promise.resolve();
  }
}

/** The pizzeria's HTTP API on a real port, driven as a user (or the demo) would. */
export class PizzeriaHttp {
  constructor(readonly baseUrl: string) {}

  async request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const response = await fetch(new URL(path, this.baseUrl), {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    const reply = (await response.json()) as T;
    if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${JSON.stringify(reply)}`);
    return reply;
  }

  placeOrder(items: readonly { menuItemId: string; quantity: number }[]): Promise<OrderSnapshot> {
    return this.request('POST', '/orders', {
      customerId: 'customer-42',
      phone: '+39 081 555 0100',
      email: 'anna@example.com',
      items,
      deliveryAddress: 'Via Toledo 42, Napoli',
    });
  }

  /** Pays for a placed order, waits until the kitchen has it ready, sends it out and marks it delivered. */
  async deliver(orderId: string): Promise<OrderSnapshot> {
    await this.request('POST', `/orders/${orderId}/pay`, { paymentReference: `pay-${orderId.slice(0, 8)}` });
    const deadline = Date.now() + 60_000;
    while ((await this.request<OrderSnapshot>('GET', `/orders/${orderId}`)).status !== 'ready') {
      if (Date.now() > deadline) throw new Error(`Order ${orderId} was not ready within 60 s.`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await this.request('POST', `/orders/${orderId}/out-for-delivery`, { courier: 'Luigi' });
    return this.request('POST', `/orders/${orderId}/delivered`, {}); // the pizzeria takes JSON POSTs only
  }
}

/** A pizzeria running for the test, and how to tap it and clean up after it. */
export interface RunningPizzeria {
  readonly pizzeria: Pizzeria;
  readonly http: PizzeriaHttp;
  readonly sms: SmsGateway;
  /** Service names: the main bus's (its handlers are `<service>.<Class>.<method>`), the kitchen bus's is `<service>-kitchen`. */
  readonly service: string;
  readonly devicesService: string;
  /** Stops the pizzeria and deletes everything it and the inspector declared on the brokers. */
  stop(): Promise<void>;
}

/** Names of one run on the brokers, all unique. */
export interface PizzeriaNames {
  readonly run: string;
  readonly exchange: string;
  readonly deadLetterQueue: string;
  readonly kitchenTopicPrefix: string;
}

/** Unique broker names for one run. */
export function pizzeriaNames(): PizzeriaNames {
  const run = uniqueName('inspizza').replace(/[^A-Za-z0-9_-]/g, '_');
  return { run, exchange: `${run}.events`, deadLetterQueue: `${run}.dlq`, kitchenTopicPrefix: `${run}-kitchen` };
}

/** The inspector's profiles for the run: the order events on RabbitMQ, the kitchen on MQTT. */
export function pizzeriaProfiles(names: PizzeriaNames, rabbitUrl: string, mqttUrl: string): ConnectionProfile[] {
  return [
    { id: 'orders', name: 'pizzeria (RabbitMQ)', broker: 'rabbitmq', url: rabbitUrl, exchange: names.exchange, deadLetterExchange: names.deadLetterQueue },
    { id: 'kitchen', name: 'kitchen (MQTT)', broker: 'mqtt', url: mqttUrl, topicPrefix: names.kitchenTopicPrefix },
  ];
}

/**
 * Starts the pizzeria with its in-process kitchen devices, telemetry published by every bus, an
 * SQLite database in memory and its HTTP API on a free loopback port.
 */
export async function startPizzeria(names: PizzeriaNames, rabbitUrl: string, mqttUrl: string): Promise<RunningPizzeria> {
  const sms = new SmsGateway();
  const service = uniqueName('pizzeria');
  const devicesService = uniqueName('oven');
  const pizzeria = await createPizzeria({
    service,
    transport: 'rabbitmq',
    url: rabbitUrl,
    transportOptions: { exchange: names.exchange, deadLetterQueue: names.deadLetterQueue, retryPrefix: `${names.run}.retry`, queuePrefix: `${names.run}.`, queueType: 'classic' },
    kitchenTransport: 'mqtt',
    kitchenUrl: mqttUrl,
    kitchenTransportOptions: { topicPrefix: names.kitchenTopicPrefix, sessionExpirySeconds: 60 },
    kitchenDevicesService: devicesService,
    database: ':memory:',
    bakeTimeMs: 300,
    outboxPollIntervalMs: 200,
    smsSender: sms,
    publishTelemetry: { intervalMs: 50 },
  });
  let address: string;
  try {
    address = await pizzeria.http.listen({ port: 0, host: '127.0.0.1' });
  } catch (error) {
    await pizzeria.stop();
    throw error;
  }
  return {
    pizzeria,
    http: new PizzeriaHttp(address),
    sms,
    service,
    devicesService,
    stop: async () => {
      const topology = (pizzeria.bus.transport as RabbitMqTransport).declaredTopology();
      try {
        // Dead letters are retained messages on MQTT: delete them before the transports close.
        const kitchenTransports: Transport[] = [pizzeria.kitchenBus.transport, ...(pizzeria.devices === undefined ? [] : [pizzeria.devices.bus.transport])];
        for (const transport of kitchenTransports) await (transport as MqttTransport).deleteDeadLetters().catch(() => 0);
      } finally {
        await pizzeria.stop();
        await deleteRabbitTopology(rabbitUrl, topology);
      }
    },
  };
}

/** Deletes the queues and exchanges of a run, and the exchanges the inspector declared with the same names. */
async function deleteRabbitTopology(url: string, topology: DeclaredTopology): Promise<void> {
  const connection = await amqp.connect(url);
  connection.on('error', () => {});
  try {
    for (const [kind, names] of [
      ['queue', topology.queues],
      ['exchange', topology.exchanges],
    ] as const) {
      for (const name of names) {
        // A channel per deletion: a failed one closes its channel.
        const channel = await connection.createChannel();
        channel.on('error', () => {});
        await (kind === 'queue' ? channel.deleteQueue(name) : channel.deleteExchange(name)).catch(() => undefined);
        await channel.close().catch(() => undefined);
      }
    }
  } finally {
    await connection.close().catch(() => undefined);
  }
}

import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';

import { EventBus, EventType, eventBrand, silentLogger } from '@cloudbus/core';
import { brokerUrl, uniqueName } from '@cloudbus/test/brokers';
import { RabbitMqTransport } from '@cloudbus/transport-rabbitmq';
import amqp from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';

import { InspectorBackend } from '../inspector-backend.js';

@EventType('com.example.tap.after-restart')
class AfterRestart {
  declare readonly [eventBrand]: 'com.example.tap.after-restart';
  constructor(readonly n: number) {}
}

const url = brokerUrl('rabbitmq');

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(1_000, () => (socket.destroy(), resolve(false)));
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

async function rabbitRunning(): Promise<void> {
  execFileSync('rabbitmqctl', ['start_app'], { stdio: 'ignore', timeout: 120_000 });
  const deadline = Date.now() + 120_000;
  while (!(await portAnswers(5672))) {
    if (Date.now() > deadline) throw new Error('RabbitMQ did not come back on 5672');
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

describe.skipIf(!url)('a RabbitMQ tap across a broker restart', () => {
  const run = uniqueName('tap-restart');
  const exchange = `${run}.events`;
  const deadLetterExchange = `${run}.dl`;
  const backend = new InspectorBackend({
    profiles: [{ id: 'rabbit', name: 'rabbit', broker: 'rabbitmq', url: url!, exchange, deadLetterExchange }],
    reconnectMinDelayMs: 200,
    reconnectMaxDelayMs: 2_000,
  });

  afterAll(async () => {
    await rabbitRunning(); // leave the broker running, whatever happened
    await backend.close();
    const connection = await amqp.connect(url!);
    const channel = await connection.createChannel();
    for (const name of [exchange, deadLetterExchange]) await channel.deleteExchange(name);
    await connection.close();
  }, 180_000);

  it('shows the profile failed while the broker is down, reopens by itself, and captures what is published after', async () => {
    expect(await backend.open('rabbit')).toMatchObject({ state: 'open' });
    const state = () => backend.profileStatuses()[0]!.state;
    try {
      execFileSync('rabbitmqctl', ['stop_app'], { stdio: 'ignore', timeout: 120_000 });
      await expect.poll(state, { timeout: 60_000 }).not.toBe('open');
    } finally {
      await rabbitRunning();
    }
    await expect.poll(state, { timeout: 60_000, interval: 250 }).toBe('open');

    const transport = new RabbitMqTransport({ url: url!, exchange, deadLetterQueue: deadLetterExchange, retryPrefix: `${run}.retry`, queuePrefix: `${run}.`, logger: silentLogger });
    const bus = new EventBus({ service: 'restart', transport, logger: silentLogger });
    await bus.start();
    try {
      await bus.publish(new AfterRestart(1));
      await expect.poll(() => backend.capture.snapshot().events.some((e) => e.type === 'com.example.tap.after-restart'), { timeout: 30_000 }).toBe(true);
    } finally {
      await bus.stop();
      const connection = await amqp.connect(url!);
      const channel = await connection.createChannel();
      const topology = transport.declaredTopology();
      for (const queue of topology.queues) await channel.deleteQueue(queue);
      for (const name of topology.exchanges) await channel.deleteExchange(name);
      await connection.close();
    }
  });
});

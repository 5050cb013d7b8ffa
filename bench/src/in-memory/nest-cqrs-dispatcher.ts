import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CqrsModule, EventBus, EventsHandler, type IEventHandler } from '@nestjs/cqrs';

import { OrderPlaced } from '../order-placed.js';
import type { Dispatcher } from './dispatch-run.js';

/** Where the Nest handler reports to; Nest instantiates the handler itself. */
let onHandled: () => void = () => {};

@EventsHandler(OrderPlaced)
class CountOrders implements IEventHandler<OrderPlaced> {
  handle(): void {
    onHandled();
  }
}

@Module({ imports: [CqrsModule.forRoot()], providers: [CountOrders] })
class BenchModule {}

/** The @nestjs/cqrs EventBus, in a Nest application context, as its documentation sets it up. */
export function nestCqrsDispatcher(): Dispatcher {
  let app: INestApplicationContext | undefined;
  let eventBus: EventBus | undefined;
  return {
    name: '@nestjs/cqrs EventBus',
    async start(handled) {
      onHandled = handled;
      app = await NestFactory.createApplicationContext(BenchModule, { logger: false });
      await app.init();
      eventBus = app.get(EventBus);
    },
    dispatch(events) {
      eventBus!.publishAll(events as OrderPlaced[]);
    },
    async stop() {
      await app?.close();
    },
  };
}

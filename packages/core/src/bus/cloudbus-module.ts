import { ContainerModule, type ServiceIdentifier } from 'inversify';

import { EventBus } from './event-bus.js';
import { resolveOptions, type CloudbusOptions } from './options.js';

/** How `cloudbus()` binds its bus. */
export interface CloudbusBinding {
  /**
   * The identifier the bus is bound to. Give a second bus (another transport, say) its own token:
   * `cloudbus(kitchenOptions, { token: KITCHEN_BUS })`, then `@inject(KITCHEN_BUS)`.
   * @default EventBus
   */
  readonly token?: ServiceIdentifier<EventBus>;
}

/**
 * The Inversify module that sets up cloudbus: binds {@link EventBus} as a singleton and each
 * handler class (transient, unless the application bound it already). Options are validated
 * here, so a bad configuration fails at `container.load(...)`.
 *
 * Each event is handled by an instance resolved with `container.get(HandlerClass)`: a fresh
 * resolution per event, so transient and request-scoped dependencies are new for every event,
 * singletons are shared.
 *
 * @example
 * ```ts
 * const container = new Container();
 * container.load(cloudbus({ service: 'shop', transport: 'memory', handlers: [Kitchen] }));
 * const bus = container.get(EventBus);
 * await bus.start();
 * ```
 */
export function cloudbus(options: CloudbusOptions, binding: CloudbusBinding = {}): ContainerModule {
  const resolved = resolveOptions(options);
  return new ContainerModule(({ bind, isBound }) => {
    for (const handler of resolved.handlers) {
      if (!isBound(handler)) bind(handler).toSelf();
    }
    bind(binding.token ?? EventBus)
      .toDynamicValue((context) => new EventBus(options, (handlerClass) => context.get(handlerClass)))
      .inSingletonScope();
  });
}

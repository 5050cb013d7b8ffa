import { ContainerModule, type ServiceIdentifier } from 'inversify';

import { InvalidHandlerError } from '../errors.js';
import type { HandlerClass } from '../handlers/event-handler.js';
import { EventBus, prepareBusOptions } from './event-bus.js';
import type { CloudbusOptions } from './options.js';

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
 * Refuses a handler class the container could not build: its constructor takes arguments, yet it
 * carries no decorator metadata at all (an `@On`-only class without `@injectable()`). Inversify's
 * own error would blame `emitDecoratorMetadata` at the first event.
 */
function requireConstructorMetadata(handler: HandlerClass): void {
  const reflect = Reflect as { getOwnMetadataKeys?: (target: object) => unknown[] };
  if (handler.length === 0 || reflect.getOwnMetadataKeys === undefined) return;
  if (reflect.getOwnMetadataKeys(handler).length > 0) return;
  throw new InvalidHandlerError(
    `${handler.name} takes constructor arguments but has no @injectable(): add @injectable() from inversify to the class. ` +
      `@On decorates methods only, so without a class decorator TypeScript records nothing about the constructor.`,
  );
}

/** Whether the application bound the handler; an `autobind` container binds it on the spot (and throws when it cannot). */
function boundAlready(isBound: (id: HandlerClass) => boolean, handler: HandlerClass): boolean {
  try {
    return isBound(handler);
  } catch {
    return false;
  }
}

/**
 * The Inversify module that sets up cloudbus: binds {@link EventBus} as a singleton and each
 * handler class (transient, unless the application bound it already). Options are validated
 * here, so a bad configuration fails at `container.load(...)`, as does a handler class whose
 * constructor takes arguments without `@injectable()`.
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
  // Validates the options and builds (never connects) the transport once, here, so a bad name or
  // transportOptions fail at load; the container's bus takes both as they are.
  const resolved = prepareBusOptions(options);
  return new ContainerModule(({ bind, isBound }) => {
    for (const handler of resolved.handlers) {
      if (boundAlready(isBound, handler)) continue;
      requireConstructorMetadata(handler);
      bind(handler).toSelf();
    }
    bind(binding.token ?? EventBus)
      .toDynamicValue((context) => new EventBus(options, (handlerClass) => context.get(handlerClass)))
      .inSingletonScope();
  });
}

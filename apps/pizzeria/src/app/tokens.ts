/** Injection token of the kitchen bus (an `EventBus`): kitchen events travel on it, over MQTT when the app runs on a broker. */
export const KITCHEN_BUS = Symbol.for('pizzeria.KitchenBus');

/** Injection token of the kitchen bus's outbox (a `SqlOutbox`): tickets are queued through it. */
export const KITCHEN_OUTBOX = Symbol.for('pizzeria.KitchenOutbox');

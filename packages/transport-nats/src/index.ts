// The nats transport: work in progress (see its issue).
export {};

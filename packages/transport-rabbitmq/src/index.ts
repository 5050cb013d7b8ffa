// The rabbitmq transport: work in progress (see its issue).
export {};

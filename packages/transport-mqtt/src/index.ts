// The mqtt transport: work in progress (see its issue).
export {};

import type { Transport } from '@cloudbus/core';
import { uniqueName } from '@cloudbus/test/brokers';

import { deleteMqttDeadLetters, deleteNatsStreams, deleteRabbitTopology, rabbitTopologyOf } from './broker-cleanup.js';

/** A broker the pizzeria's integration tests run on. */
export type BrokerKind = 'rabbitmq' | 'nats' | 'mqtt';

/** Broker-specific names, unique to this run, and how to delete them afterwards. */
export interface Isolation {
  readonly transportOptions: Record<string, unknown>;
  /** Called with each transport before it closes. */
  readonly beforeClose: (transport: Transport) => Promise<void>;
  readonly cleanup: () => Promise<void>;
}

export function isolate(kind: BrokerKind, url: string): Isolation {
  const name = uniqueName('pizzeria').replace(/[^A-Za-z0-9_-]/g, '_');
  switch (kind) {
    case 'rabbitmq': {
      const topologies: ReturnType<typeof rabbitTopologyOf>[] = [];
      return {
        transportOptions: { exchange: `${name}.events`, deadLetterQueue: `${name}.dlq`, retryPrefix: `${name}.retry`, queuePrefix: `${name}.` },
        beforeClose: (transport) => {
          topologies.push(rabbitTopologyOf(transport));
          return Promise.resolve();
        },
        cleanup: () => deleteRabbitTopology(url, topologies),
      };
    }
    case 'nats':
      return {
        transportOptions: { stream: `${name}_EVENTS`, deadLetterStream: `${name}_DLQ`, subjectPrefix: name },
        beforeClose: () => Promise.resolve(),
        cleanup: () => deleteNatsStreams(url, [`${name}_EVENTS`, `${name}_DLQ`]),
      };
    case 'mqtt':
      return mqttIsolation(name);
  }
}

export function mqttIsolation(name: string): Isolation {
  const cleaned = new Set<Transport>();
  return {
    transportOptions: { topicPrefix: name, sessionExpirySeconds: 60 },
    beforeClose: async (transport) => {
      if (transport.name !== 'mqtt' || cleaned.size > 0) return;
      cleaned.add(transport);
      await deleteMqttDeadLetters(transport);
    },
    cleanup: () => Promise.resolve(),
  };
}

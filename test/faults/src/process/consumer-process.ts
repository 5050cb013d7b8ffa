/**
 * A fault consumer in a process of its own, so a test can SIGKILL it: reads its
 * {@link FaultConsumerConfig} from `CLOUDBUS_FAULT_CONSUMER`, prints `ready` once subscribed, and
 * stops gracefully on SIGTERM (printing `stopped`).
 */
import '@cloudbus/transport-rabbitmq';
import '@cloudbus/transport-nats';
import '@cloudbus/transport-mqtt';

import { startFaultConsumer, type FaultConsumerConfig } from './fault-consumer.js';

const config = JSON.parse(process.env['CLOUDBUS_FAULT_CONSUMER'] ?? '{}') as FaultConsumerConfig;
const consumer = await startFaultConsumer(config);
process.stdout.write('ready\n');
process.once('SIGTERM', () => {
  consumer.stop().then(
    () => {
      process.stdout.write('stopped\n');
      process.exit(0);
    },
    (error: unknown) => {
      process.stderr.write(`stop failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
});

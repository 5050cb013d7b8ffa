import { randomUUID } from 'node:crypto';

import { redactCredentials, type CloudEvent } from '@cloudbus/core';

import { UsageError } from '../cli-errors.js';
import { CONNECTION_OPTIONS, CLI_SERVICE, openBus, resolveConnection } from '../connection.js';
import { ExitCode } from '../exit-codes.js';
import { COMMON_OPTIONS, COMMON_USAGE, outputOrHelp, type Command } from './command.js';
import { parse } from './parse.js';

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...CONNECTION_OPTIONS,
  data: { type: 'string', short: 'd' },
  source: { type: 'string' },
  subject: { type: 'string' },
  id: { type: 'string' },
  'correlation-id': { type: 'string' },
} as const;

/** `cloudbus publish <type> --data '{...}'`: publishes one CloudEvent. */
export const publishCommand: Command = {
  name: 'publish',
  summary: 'publish one event',
  usage: `Usage: cloudbus publish <type> [--data JSON] [options]

Publishes one CloudEvent of type <type>, with JSON data, and waits until the broker accepted it.

Options:
  -d, --data JSON          the event's data (JSON)
  --source URI             CloudEvent source (default /${CLI_SERVICE})
  --subject S              CloudEvent subject
  --id ID                  CloudEvent id (default a new UUID); the same id twice is one event to de-duplicating brokers and inboxes
  --correlation-id C       correlation id
${COMMON_USAGE}`,

  async run(args, context) {
    const { values, positionals } = parse(args, OPTIONS);
    const output = outputOrHelp(values, context, this.usage);
    if (output === undefined) return ExitCode.ok;
    const [type, ...extra] = positionals;
    if (type === undefined) throw new UsageError('publish needs the event type: cloudbus publish com.example.order.placed --data \'{"orderId":"o-1"}\'.');
    if (extra.length > 0) throw new UsageError(`publish takes one event type; unexpected '${extra.join(' ')}'. Quote --data JSON.`);
    let data: unknown;
    if (values.data !== undefined) {
      try {
        data = JSON.parse(values.data);
      } catch (error) {
        throw new UsageError(`--data is not valid JSON: ${(error as Error).message}.`, { cause: error });
      }
    }
    const connection = resolveConnection(values, context.env);
    const event: CloudEvent = {
      specversion: '1.0',
      id: values.id ?? randomUUID(),
      source: values.source ?? `/${CLI_SERVICE}`,
      type,
      time: new Date().toISOString(),
      ...(values.subject === undefined ? {} : { subject: values.subject }),
      ...(values['correlation-id'] === undefined ? {} : { correlationid: values['correlation-id'] }),
      ...(data === undefined ? {} : { datacontenttype: 'application/json', data }),
    };
    const bus = await openBus(connection, output);
    try {
      await bus.publishPrepared([event]);
    } finally {
      await bus.stop();
    }
    if (output.json) output.out(JSON.stringify({ published: { id: event.id, type: event.type, source: event.source } }));
    else output.out(`${output.paint('green', 'published')} ${output.paint('cyan', type)} id=${event.id} on ${connection.broker} ${redactCredentials(connection.url)}`);
    return ExitCode.ok;
  },
};

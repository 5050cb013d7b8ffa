import type { SubscriptionInfo } from '@cloudbus/core';

import { UsageError } from '../cli-errors.js';
import { CONNECTION_OPTIONS, withBus } from '../connection.js';
import { ExitCode } from '../exit-codes.js';
import { oneLine, type Output } from '../output.js';
import { COMMON_OPTIONS, COMMON_USAGE, outputOrHelp, type Command } from './command.js';
import { parse } from './parse.js';

const DESCRIBE_OPTIONS = { ...COMMON_OPTIONS, ...CONNECTION_OPTIONS, service: { type: 'string' } } as const;
const PRUNE_OPTIONS = { ...COMMON_OPTIONS, ...CONNECTION_OPTIONS, service: { type: 'string' }, 'dry-run': { type: 'boolean' } } as const;

/** A value read off the broker, on one line without control characters (a record anyone could write must not drive the terminal). */
function shown(value: string | number | undefined): string {
  return value === undefined ? '-' : oneLine(String(value), 200);
}

function shownList(values: readonly string[]): string {
  return oneLine(values.join(', '), 2_000);
}

/** One subscription as a block of labelled lines. */
function describeText(info: SubscriptionInfo, output: Output): string[] {
  const label = (name: string) => `  ${output.paint('dim', name.padEnd(13))}`;
  const who = [info.service === undefined ? undefined : `service ${shown(info.service)}`, info.handler === undefined ? undefined : `handler ${shown(info.handler)}`].filter(Boolean);
  return [
    `${output.paint('bold', shown(info.name))}${who.length > 0 ? output.paint('dim', `  (${who.join(', ')})`) : ''}`,
    `${label('types')}${info.types.length > 0 ? shownList(info.types) : output.paint('yellow', '(not recorded)')}`,
    `${label('bindings')}${info.bindings.length > 0 ? shownList(info.bindings) : output.paint('yellow', '(none)')}`,
    `${label('destination')}${shown(info.destination)}`,
    `${label('concurrency')}${shown(info.concurrency)}    ${output.paint('dim', 'retry')} ${shown(info.retry)}`,
    `${label('pending')}${shown(info.pending)}    ${output.paint('dim', 'consumers')} ${shown(info.consumers)}    ${output.paint('dim', 'updated')} ${shown(info.updatedAt)}`,
  ];
}

/** `cloudbus describe`. */
export const describeCommand: Command = {
  name: 'describe',
  summary: 'each subscription as the broker has it: types, bindings, concurrency, retry, pending',
  usage: `Usage: cloudbus describe [--service S] [options]

Lists the handler subscriptions on the broker (under the names the transport options give: exchange,
stream, topic prefix), sorted by name: the CloudEvent types each receives, what the broker routes
to it (routing keys, filter subjects, shared topic filters), where its messages wait, its
concurrency and retry policy as its service last recorded them, and the messages waiting where the
broker tells. A '-' is something the broker does not say.

  --service S       only the subscriptions of service S
${COMMON_USAGE}`,
  async run(args, context) {
    const { values, positionals } = parse(args, DESCRIBE_OPTIONS);
    const output = outputOrHelp(values, context, this.usage);
    if (output === undefined) return ExitCode.ok;
    if (positionals.length > 0) throw new UsageError(`describe takes no arguments; got '${positionals[0]}'. Use --service to pick a service.`);
    if (values.service === '') throw new UsageError('--service needs a service name.');
    return withBus(values, context, output, async (bus) => {
      const found = await bus.subscriptions.list(values.service === undefined ? {} : { service: values.service });
      if (output.json) {
        output.out(JSON.stringify(found));
        return ExitCode.ok;
      }
      if (found.length === 0) {
        output.out(values.service === undefined ? 'No subscriptions.' : `No subscriptions of service '${values.service}'.`);
        return ExitCode.ok;
      }
      for (const [index, info] of found.entries()) {
        if (index > 0) output.out('');
        for (const line of describeText(info, output)) output.out(line);
      }
      output.out(output.paint('dim', `\n${found.length} subscription(s)`));
      return ExitCode.ok;
    });
  },
};

/** `cloudbus prune`. */
export const pruneCommand: Command = {
  name: 'prune',
  summary: 'remove a service\'s subscriptions from the broker',
  usage: `Usage: cloudbus prune --service S [--dry-run] [options]

Deletes every subscription of service S from the broker: its queues (RabbitMQ), durable consumers
(NATS) or sessions (MQTT), with the messages waiting in them. Dead letters are kept. Stop the
service first: a running instance loses its subscriptions. Exit code 3 when the service has none.

  --service S       the service (required)
  --dry-run         list what would be removed, remove nothing
${COMMON_USAGE}`,
  async run(args, context) {
    const { values, positionals } = parse(args, PRUNE_OPTIONS);
    const output = outputOrHelp(values, context, this.usage);
    if (output === undefined) return ExitCode.ok;
    if (positionals.length > 0) throw new UsageError(`prune takes no arguments; got '${positionals[0]}'. Use --service S.`);
    const service = values.service;
    if (service === undefined || service === '') throw new UsageError('prune needs --service S: the service whose subscriptions to remove.');
    return withBus(values, context, output, async (bus) => {
      if (values['dry-run'] === true) {
        const found = await bus.subscriptions.list({ service });
        if (output.json) output.out(JSON.stringify({ wouldRemove: found.map((info) => info.name) }));
        else {
          for (const info of found) output.out(`${output.paint('yellow', 'would remove')} ${shown(info.name)} (${shown(info.destination)}, ${shown(info.pending)} pending)`);
          output.out(output.paint('dim', `${found.length} subscription(s) of service '${service}'; nothing removed (--dry-run)`));
        }
        return found.length === 0 ? ExitCode.notFound : ExitCode.ok;
      }
      const report = await bus.subscriptions.remove({ service });
      if (output.json) output.out(JSON.stringify(report));
      else {
        for (const name of report.removed) output.out(`${output.paint('green', 'removed')} ${shown(name)}`);
        output.out(report.removed.length === 0 ? `No subscriptions of service '${service}'.` : output.paint('dim', `${report.removed.length} subscription(s) removed`));
      }
      return report.removed.length === 0 ? ExitCode.notFound : ExitCode.ok;
    });
  },
};

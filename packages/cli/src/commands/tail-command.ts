import { BrokerConnectionError, decodeCloudEvent, readDeadLetterRecord, redactCredentials, TELEMETRY_EVENT_TYPE, type CloudEvent } from '@cloudbus/core';
import type { TappedMessage } from '@cloudbus/inspector/dist/backend/captured-message.js';
import { createTap } from '@cloudbus/inspector/dist/backend/taps/create-tap.js';
import type { ConnectionProfile } from '@cloudbus/inspector/dist/shared/connection-profile.js';

import { UsageError } from '../cli-errors.js';
import { CONNECTION_OPTIONS, resolveConnection, type Connection } from '../connection.js';
import { dataText, eventJson, withoutRecord } from '../event-view.js';
import { ExitCode } from '../exit-codes.js';
import { oneLine, type Output } from '../output.js';
import { COMMON_OPTIONS, COMMON_USAGE, outputOrHelp, type Command } from './command.js';
import { parse } from './parse.js';

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...CONNECTION_OPTIONS,
  type: { type: 'string', short: 't', multiple: true },
  correlation: { type: 'string', short: 'c' },
  'dead-letters': { type: 'boolean' },
  telemetry: { type: 'boolean' },
  count: { type: 'string', short: 'n' },
} as const;

/** The inspector's tap profile for the connection: the same names and prefixes the transport uses. */
function tapProfile(connection: Connection): ConnectionProfile {
  const option = (name: string): string | undefined => {
    const value = connection.transportOptions[name];
    return typeof value === 'string' ? value : undefined;
  };
  return {
    id: 'cli',
    name: 'cloudbus-cli',
    broker: connection.broker,
    url: connection.url.split(',')[0]!.trim(),
    exchange: option('exchange'),
    deadLetterExchange: option('deadLetterQueue'),
    stream: option('stream'),
    deadLetterStream: option('deadLetterStream'),
    subjectPrefix: option('subjectPrefix'),
    topicPrefix: option('topicPrefix'),
  };
}

/** Whether `type` matches a `--type` pattern: exact, or a prefix ending in `*`. */
function typeMatches(patterns: readonly string[], type: string): boolean {
  return patterns.length === 0 || patterns.some((pattern) => (pattern.endsWith('*') ? type.startsWith(pattern.slice(0, -1)) : type === pattern));
}

/** One event or dead letter, as a line for a person. */
function eventLine(event: CloudEvent, tapped: TappedMessage, output: Output): string {
  const time = output.paint('dim', new Date().toISOString().slice(11, 23));
  const original = tapped.deadLetter ? withoutRecord(event) : event;
  const parts = [time];
  if (tapped.deadLetter) {
    const record = readDeadLetterRecord(event);
    parts.push(output.paint('red', `DEAD-LETTER ${record?.reason ?? ''}`.trim()), output.paint('cyan', original.type));
    if (record !== undefined) parts.push(`handler=${record.handler}`, output.paint('red', oneLine(`${record.error.type}: ${record.error.message}`, 80)));
  } else {
    parts.push(output.paint('cyan', original.type));
  }
  parts.push(output.paint('dim', `id=${original.id}`));
  if (original.subject !== undefined) parts.push(`subject=${original.subject}`);
  if (typeof original.correlationid === 'string') parts.push(output.paint('magenta', `corr=${original.correlationid}`));
  const data = dataText(original);
  if (data !== '') parts.push(oneLine(data, 160));
  return parts.join('  ');
}

/** Opens the tap; a broker out of reach becomes `BrokerConnectionError` (exit code 4). */
async function openTap(tap: ReturnType<typeof createTap>, listener: Parameters<ReturnType<typeof createTap>['open']>[0], connection: Connection): Promise<void> {
  try {
    await tap.open(listener);
  } catch (error) {
    throw new BrokerConnectionError(`Cannot tap ${connection.broker} at ${redactCredentials(connection.url)}: ${(error as Error).message}`, { cause: error });
  }
}

/** `cloudbus tail`: live decoded events. */
export const tailCommand: Command = {
  name: 'tail',
  summary: 'live decoded events, filterable by type and correlation',
  usage: `Usage: cloudbus tail [--type T]... [--correlation C] [--dead-letters] [--count N] [options]

Prints every event published from now on, decoded, one per line (with --json: one JSON object per
line). It reads a copy of each event without taking anything from the services' subscriptions
(a private auto-delete queue, an ephemeral ordered consumer, a clean MQTT session). Runs until
Ctrl-C (or --count events).

  -t, --type T           only events of type T; T may end with * (com.example.order.*). Repeatable
  -c, --correlation C    only events with correlation id C
  --dead-letters         also dead letters (those already stored first, then new ones)
  --telemetry            also the buses' telemetry events (${TELEMETRY_EVENT_TYPE})
  -n, --count N          stop after N events
${COMMON_USAGE}`,

  async run(args, context) {
    const { values, positionals } = parse(args, OPTIONS);
    const output = outputOrHelp(values, context, this.usage);
    if (output === undefined) return ExitCode.ok;
    if (positionals.length > 0) throw new UsageError(`tail takes no arguments; unexpected '${positionals.join(' ')}'. Filter with --type.`);
    const count = values.count === undefined ? undefined : Number(values.count);
    if (count !== undefined && (!Number.isInteger(count) || count < 1)) throw new UsageError(`--count takes a positive whole number; got '${values.count}'.`);
    const connection = resolveConnection(values, context.env);
    const types = values.type ?? [];
    const tap = createTap(tapProfile(connection), undefined);
    let shown = 0;
    let failure: Error | undefined;
    const done = new AbortController();
    const stop = () => done.abort();
    context.signal.addEventListener('abort', stop, { once: true });

    const show = (tapped: TappedMessage): void => {
      if (done.signal.aborted) return;
      if (tapped.deadLetter && values['dead-letters'] !== true) return;
      let event: CloudEvent;
      try {
        event = decodeCloudEvent(tapped.message);
      } catch (error) {
        if (types.length > 0 || values.correlation !== undefined) return;
        if (output.json) output.out(JSON.stringify({ kind: tapped.deadLetter ? 'dead-letter' : 'event', error: (error as Error).message }));
        else output.out(output.paint('yellow', `not a CloudEvent (${tapped.message.body.byteLength} bytes): ${oneLine((error as Error).message, 120)}`));
        return;
      }
      if (event.type === TELEMETRY_EVENT_TYPE && values.telemetry !== true) return;
      if (!typeMatches(types, event.type)) return;
      if (values.correlation !== undefined && event.correlationid !== values.correlation) return;
      if (output.json) {
        const record = tapped.deadLetter ? readDeadLetterRecord(event) : undefined;
        output.out(
          JSON.stringify({
            kind: tapped.deadLetter ? 'dead-letter' : 'event',
            event: eventJson(tapped.deadLetter ? withoutRecord(event) : event),
            ...(record === undefined ? {} : { deadLetter: record }),
          }),
        );
      } else {
        output.out(eventLine(event, tapped, output));
      }
      if (count !== undefined && ++shown >= count) stop();
    };

    try {
      await openTap(tap, {
        message: (tapped) => {
          try {
            show(tapped);
          } catch (error) {
            // Nothing read off the wire may end the tail: report it and go on.
            output.err(`cloudbus: could not show a message: ${(error as Error).message}`);
          }
        },
        failed: (error) => {
          failure = error;
          stop();
        },
      }, connection);
      output.err(output.paint('dim', `tailing ${connection.broker} at ${redactCredentials(connection.url)}; Ctrl-C to stop`));
      if (!done.signal.aborted) await new Promise<void>((resolve) => done.signal.addEventListener('abort', () => resolve(), { once: true }));
    } finally {
      context.signal.removeEventListener('abort', stop);
      await tap.close();
    }
    if (failure !== undefined) {
      output.err(`cloudbus: the connection to the broker was lost: ${failure.message}`);
      return ExitCode.unreachable;
    }
    return ExitCode.ok;
  },
};

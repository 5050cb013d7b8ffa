import type { DeadLetterEntry, DeadLetterSelection } from '@cloudbus/core';

import { UsageError } from '../cli-errors.js';
import { CONNECTION_OPTIONS, withBus } from '../connection.js';
import { dataText, deadLetterJson, withoutRecord } from '../event-view.js';
import { ExitCode } from '../exit-codes.js';
import { FILTER_OPTIONS, FILTER_USAGE, toFilter } from '../filters.js';
import { oneLine, table, type Output } from '../output.js';
import { COMMON_OPTIONS, COMMON_USAGE, outputOrHelp, type Command } from './command.js';
import { parse } from './parse.js';

const LIST_OPTIONS = { ...COMMON_OPTIONS, ...CONNECTION_OPTIONS, ...FILTER_OPTIONS, limit: { type: 'string' } } as const;
const SHOW_OPTIONS = { ...COMMON_OPTIONS, ...CONNECTION_OPTIONS } as const;
const SELECT_OPTIONS = { ...COMMON_OPTIONS, ...CONNECTION_OPTIONS, ...FILTER_OPTIONS, all: { type: 'boolean' } } as const;
const REPLAY_OPTIONS = { ...SELECT_OPTIONS, keep: { type: 'boolean' } } as const;

const ID_HELP = 'A dead letter\'s id is <service>.<handler>:<event id> (see `cloudbus dead-letters list`).';

/** Ids given, or the filter flags (`--all` for every dead letter); never an empty selection by accident. */
function selection(positionals: readonly string[], flags: Parameters<typeof toFilter>[0] & { readonly all?: boolean | undefined }, verb: string): DeadLetterSelection {
  const filter = toFilter(flags);
  if (positionals.length > 0) {
    if (filter !== undefined || flags.all === true) throw new UsageError(`${verb} takes ids or filters, not both.`);
    return positionals;
  }
  if (filter !== undefined) return filter;
  if (flags.all === true) return {};
  throw new UsageError(`${verb} needs dead-letter ids, filters (--service, --handler, --type, --reason, --from, --to) or --all. ${ID_HELP}`);
}

const listCommand: Command = {
  name: 'dead-letters list',
  summary: 'list dead letters, oldest first, with filters',
  usage: `Usage: cloudbus dead-letters list [filters] [--limit N] [options]

Lists the stored dead letters, oldest first. The store is shared by every service on the broker:
use --service to see one service's.

${FILTER_USAGE}
  --limit N         at most N (the oldest)
${COMMON_USAGE}`,
  async run(args, context) {
    const { values } = parse(args, LIST_OPTIONS);
    const output = outputOrHelp(values, context, this.usage);
    if (output === undefined) return ExitCode.ok;
    const filter = toFilter(values) ?? {};
    const limit = values.limit === undefined ? undefined : Number(values.limit);
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new UsageError(`--limit takes a positive whole number; got '${values.limit}'.`);
    return withBus(values, context, output, async (bus) => {
      const all = await bus.deadLetters.list(filter);
      const entries = limit === undefined ? all : all.slice(0, limit);
      if (output.json) {
        output.out(JSON.stringify(entries.map((entry) => deadLetterJson(entry, false))));
        return ExitCode.ok;
      }
      if (entries.length === 0) {
        output.out('No dead letters.');
        return ExitCode.ok;
      }
      const rows = entries.map((entry) => [
        entry.id,
        entry.time?.toISOString() ?? '-',
        entry.record?.reason ?? '-',
        entry.cloudEvent?.type ?? '(not a CloudEvent)',
        oneLine(entry.record === undefined ? '' : `${entry.record.error.type}: ${entry.record.error.message}`, 60),
      ]);
      const [header, ...lines] = table(['ID', 'DEAD-LETTERED', 'REASON', 'TYPE', 'ERROR'], rows);
      output.out(output.paint('bold', header!));
      for (const line of lines) output.out(line);
      output.out(output.paint('dim', `${entries.length} dead letter(s)${entries.length < all.length ? ` of ${all.length}` : ''}`));
      return ExitCode.ok;
    });
  },
};

function showText(entry: DeadLetterEntry, output: Output): string[] {
  const record = entry.record;
  const label = (name: string) => output.paint('dim', name.padEnd(15));
  const lines = [`${label('id')}${output.paint('bold', entry.id)}`];
  if (record !== undefined) {
    lines.push(
      `${label('handler')}${record.handler}`,
      `${label('reason')}${output.paint('red', record.reason)} after ${record.attempts} attempt(s)`,
      `${label('error')}${record.error.type}: ${record.error.message}`,
      `${label('first attempt')}${record.firstAttemptTime}`,
      `${label('dead-lettered')}${record.time}`,
    );
  }
  lines.push(`${label('destination')}${entry.destination}`);
  const event = entry.cloudEvent;
  if (event === undefined) {
    lines.push(`${label('event')}(not a CloudEvent: ${entry.message.body.byteLength} bytes)`);
  } else {
    const original = withoutRecord(event);
    for (const name of ['type', 'id', 'source', 'subject', 'time', 'correlationid', 'causationid']) {
      const value = (original as Record<string, unknown>)[name];
      if (value !== undefined) lines.push(`${label(name === 'id' ? 'event id' : name)}${String(value)}`);
    }
    lines.push(`${label('data')}${dataText(original)}`);
  }
  if (record?.error.stack !== undefined) lines.push(`${label('stack')}${record.error.stack.split(' | ').join(`\n${' '.repeat(15)}`)}`);
  return lines;
}

const showCommand: Command = {
  name: 'dead-letters show',
  summary: 'show one dead letter: its failure record and event',
  usage: `Usage: cloudbus dead-letters show <id> [options]

Shows one dead letter: the failure record (reason, handler, attempts, error and stack) and the
original event. ${ID_HELP} Exit code 3 when no dead letter has that id.

${COMMON_USAGE}`,
  async run(args, context) {
    const { values, positionals } = parse(args, SHOW_OPTIONS);
    const output = outputOrHelp(values, context, this.usage);
    if (output === undefined) return ExitCode.ok;
    if (positionals.length !== 1) throw new UsageError(`show takes one dead-letter id. ${ID_HELP}`);
    const id = positionals[0]!;
    return withBus(values, context, output, async (bus) => {
      const entry = await bus.deadLetters.get(id);
      if (entry === undefined) {
        output.err(`No dead letter with id '${id}'. ${ID_HELP}`);
        return ExitCode.notFound;
      }
      if (output.json) output.out(JSON.stringify(deadLetterJson(entry, true)));
      else for (const line of showText(entry, output)) output.out(line);
      return ExitCode.ok;
    });
  },
};

const replayCommand: Command = {
  name: 'dead-letters replay',
  summary: 'replay dead letters to the handler that gave up',
  usage: `Usage: cloudbus dead-letters replay <id>... | [filters] | --all [--keep] [options]

Publishes each dead letter again for the handler that gave up only (a new event id, causationid the
original event, replayfor the handler; the idempotent inbox keys it by the original id), then
removes it from the store. Exit code 3 when an id matches nothing, 1 when a replay failed.

  --keep            keep the replayed dead letters stored
  --all             every dead letter (with no ids and no filters)
${FILTER_USAGE}
${COMMON_USAGE}`,
  async run(args, context) {
    const { values, positionals } = parse(args, REPLAY_OPTIONS);
    const output = outputOrHelp(values, context, this.usage);
    if (output === undefined) return ExitCode.ok;
    const chosen = selection(positionals, values, 'replay');
    return withBus(values, context, output, async (bus) => {
      const report = await bus.deadLetters.replay(chosen, { keep: values.keep === true });
      if (output.json) output.out(JSON.stringify(report));
      else {
        for (const one of report.replayed) output.out(`${output.paint('green', 'replayed')} ${one.id} as event ${one.eventId}`);
        for (const one of report.failed) output.err(`${output.paint('red', 'failed')} ${one.id}: ${one.error}`);
        for (const id of report.missing) output.err(`${output.paint('yellow', 'not found')} ${id}`);
        output.out(output.paint('dim', `${report.replayed.length} replayed, ${report.removed} removed from the store, ${report.failed.length} failed, ${report.missing.length} not found`));
      }
      return report.failed.length > 0 ? ExitCode.failed : report.missing.length > 0 ? ExitCode.notFound : ExitCode.ok;
    });
  },
};

const deleteCommand: Command = {
  name: 'dead-letters delete',
  summary: 'delete dead letters for good',
  usage: `Usage: cloudbus dead-letters delete <id>... | [filters] | --all [options]

Removes dead letters from the store for good; every other dead letter stays. Exit code 3 when an
id matches nothing.

  --all             every dead letter (with no ids and no filters)
${FILTER_USAGE}
${COMMON_USAGE}`,
  async run(args, context) {
    const { values, positionals } = parse(args, SELECT_OPTIONS);
    const output = outputOrHelp(values, context, this.usage);
    if (output === undefined) return ExitCode.ok;
    const chosen = selection(positionals, values, 'delete');
    return withBus(values, context, output, async (bus) => {
      const report = await bus.deadLetters.delete(chosen);
      if (output.json) output.out(JSON.stringify(report));
      else {
        for (const id of report.missing) output.err(`${output.paint('yellow', 'not found')} ${id}`);
        output.out(`${output.paint('green', 'deleted')} ${report.deleted} dead letter(s)`);
      }
      return report.missing.length > 0 ? ExitCode.notFound : ExitCode.ok;
    });
  },
};

/** `cloudbus dead-letters list|show|replay|delete`. */
export const deadLetterCommands: readonly Command[] = [listCommand, showCommand, replayCommand, deleteCommand];

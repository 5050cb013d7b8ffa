import { CloudbusError, ConfigurationError, InvalidCloudEventError } from '@cloudbus/core';

import { UsageError } from './cli-errors.js';
import type { Command, CommandContext } from './commands/command.js';
import { deadLetterCommands } from './commands/dead-letters-command.js';
import { publishCommand } from './commands/publish-command.js';
import { describeCommand, pruneCommand } from './commands/subscriptions-command.js';
import { tailCommand } from './commands/tail-command.js';
import { isUnreachable } from './connection.js';
import { ExitCode } from './exit-codes.js';
import { consoleOutput } from './output.js';

export { ExitCode } from './exit-codes.js';
export type { Command, CommandContext } from './commands/command.js';

/** The command table: one entry per command, found by its first one or two words. */
export const COMMANDS: readonly Command[] = [describeCommand, tailCommand, ...deadLetterCommands, publishCommand, pruneCommand];

function overview(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  return `Usage: cloudbus <command> [arguments] [options]

Commands:
${COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`).join('\n')}

Every command takes --transport rabbitmq|nats|mqtt and --url (or CLOUDBUS_TRANSPORT, CLOUDBUS_URL),
and --json for machine-readable output. 'cloudbus <command> --help' tells more.

Exit codes: 0 done, 1 failed, 2 bad command line, 3 not found (a dead letter, a service to prune), 4 broker out of reach.`;
}

/** Finds the command named by the first words of `argv`. */
function findCommand(argv: readonly string[]): { command: Command; rest: readonly string[] } | undefined {
  for (const command of COMMANDS) {
    const words = command.name.split(' ');
    if (words.every((word, index) => argv[index] === word)) return { command, rest: argv.slice(words.length) };
  }
  return undefined;
}

/**
 * Runs the `cloudbus` command line (the arguments after the program name) and resolves with its
 * exit code; errors are reported on standard error, never thrown.
 */
export async function runCli(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, signal: AbortSignal = new AbortController().signal): Promise<ExitCode> {
  const context: CommandContext = { output: (options) => consoleOutput(options, env), env, signal };
  const plain = consoleOutput({ json: false, noColor: argv.includes('--no-color') }, env);
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    plain.out(overview());
    return argv.length === 0 ? ExitCode.usage : ExitCode.ok;
  }
  const found = findCommand(argv);
  if (found === undefined) {
    const group = COMMANDS.filter((command) => command.name.startsWith(`${argv[0]} `));
    plain.err(
      group.length > 0
        ? `cloudbus ${argv[0]} needs one of: ${group.map((command) => command.name.split(' ')[1]).join(', ')}.`
        : `Unknown command '${argv[0]}'. Commands: ${COMMANDS.map((command) => command.name).join(', ')}.`,
    );
    return ExitCode.usage;
  }
  try {
    return await found.command.run(found.rest, context);
  } catch (error) {
    return report(error, found.command, plain);
  }
}

function report(error: unknown, command: Command, output: ReturnType<typeof consoleOutput>): ExitCode {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof UsageError || error instanceof ConfigurationError || error instanceof InvalidCloudEventError) {
    output.err(`cloudbus ${command.name}: ${message}`);
    if (error instanceof UsageError) output.err(`See 'cloudbus ${command.name} --help'.`);
    return ExitCode.usage;
  }
  if (isUnreachable(error)) {
    output.err(`cloudbus ${command.name}: cannot reach the broker: ${message}`);
    return ExitCode.unreachable;
  }
  output.err(`cloudbus ${command.name}: ${error instanceof CloudbusError ? '' : 'unexpected error: '}${message}`);
  return ExitCode.failed;
}

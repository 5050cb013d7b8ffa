import type { ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';

/** One `cloudbus` command: its name (possibly two words), one-line summary, usage text, and what it runs. */
export interface Command {
  /** `publish`, `tail`, `dead-letters list`... */
  readonly name: string;
  readonly summary: string;
  /** Full help: usage line, arguments and options. */
  readonly usage: string;
  /** Runs the command with its arguments (after the name); resolves with the exit code. */
  run(args: readonly string[], context: CommandContext): Promise<ExitCode>;
}

/** What a command is given besides its arguments. */
export interface CommandContext {
  /** Builds the output once `--json` / `--no-color` are known. */
  output(options: { readonly json: boolean; readonly noColor: boolean }): Output;
  readonly env: NodeJS.ProcessEnv;
  /** Aborted on SIGINT/SIGTERM: long-running commands (tail) end cleanly. */
  readonly signal: AbortSignal;
}

/** Options every command takes, in `parseArgs` form. */
export const COMMON_OPTIONS = {
  json: { type: 'boolean' },
  'no-color': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Help text for the connection and output options, shared by every command's usage. */
export const COMMON_USAGE = `Connection (every command):
  --transport rabbitmq|nats|mqtt   the broker (CLOUDBUS_TRANSPORT)
  --url URL                        broker URL (CLOUDBUS_URL; default: the transport's)
  -o, --option key=value           a transport option, repeatable (CLOUDBUS_TRANSPORT_OPTIONS as JSON),
                                   e.g. -o exchange=shop.events, -o stream=SHOP, -o topicPrefix=shop
  --timeout MS                     how long to keep trying to reach the broker (default 10000)
Output:
  --json                           machine-readable output on standard output
  --no-color                       no colours (also NO_COLOR)`;

/** The flags of {@link COMMON_OPTIONS}, as parsed. */
export interface CommonFlags {
  readonly json?: boolean | undefined;
  readonly 'no-color'?: boolean | undefined;
  readonly help?: boolean | undefined;
}

/** The command's output, or undefined once it printed `usage` for `--help` (the command then ends with exit code 0). */
export function outputOrHelp(flags: CommonFlags, context: CommandContext, usage: string): Output | undefined {
  const output = context.output({ json: flags.json === true, noColor: flags['no-color'] === true });
  if (flags.help !== true) return output;
  output.out(usage);
  return undefined;
}

import type { Logger } from '../logger.js';

/** One line a {@link RecordingLogger} was given. */
export interface LoggedLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields: Record<string, unknown> | undefined;
}

/** A {@link Logger} that keeps every line, for tests that check what the bus and transports say. */
export interface RecordingLogger extends Logger {
  /** Every line so far, oldest first. */
  readonly lines: LoggedLine[];
  /** The first line whose message starts with `prefix`, if any. */
  find(prefix: string): LoggedLine | undefined;
  /** Every line, as JSON: to check that a secret appears nowhere. */
  text(): string;
}

/** A logger that records every line: `cloudbus({ logger: recordingLogger() })`. */
export function recordingLogger(): RecordingLogger {
  const lines: LoggedLine[] = [];
  const at =
    (level: LoggedLine['level']) =>
    (message: string, fields?: Record<string, unknown>): void => {
      lines.push({ level, message, fields });
    };
  return {
    lines,
    find: (prefix) => lines.find((line) => line.message.startsWith(prefix)),
    text: () => JSON.stringify(lines),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
  };
}

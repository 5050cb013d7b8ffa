/**
 * Where cloudbus writes what it has to say: `(message, fields)`, as console and winston take it.
 * A pino (or bunyan) logger, which takes `(fields, message)`, is adapted by {@link asLogger}, which
 * the bus and every transport apply to the `logger` option: pass either as it is.
 */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Levels of {@link consoleLoggerAt}, least severe first; `silent` writes nothing. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

function isLogLevel(value: unknown): value is LogLevel {
  return LEVELS.includes(value as LogLevel);
}

/** The fields of a line as compact JSON; never throws (a cycle or a BigInt is shown as text). */
function fieldsText(fields: Record<string, unknown>): string {
  try {
    return JSON.stringify(fields, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
  } catch {
    return String(fields);
  }
}

/**
 * Writes to the console from `level` up, one line each, as `[cloudbus] message {"field":...}`:
 * debug and info to standard output, warn and error to standard error.
 */
export function consoleLoggerAt(level: LogLevel): Logger {
  const from = LEVELS.indexOf(level);
  const write =
    (at: Exclude<LogLevel, 'silent'>, sink: (line: string) => void) =>
    (message: string, fields?: Record<string, unknown>): void => {
      if (LEVELS.indexOf(at) < from) return;
      sink(fields === undefined ? `[cloudbus] ${message}` : `[cloudbus] ${message} ${fieldsText(fields)}`);
    };
  return {
    debug: write('debug', console.debug),
    info: write('info', console.info),
    warn: write('warn', console.warn),
    error: write('error', console.error),
  };
}

/**
 * The default logger: the console from the level in `CLOUDBUS_LOG_LEVEL` (debug, info, warn,
 * error or silent) up, info when unset. A bus says at info what it connected to and subscribed,
 * at warn what went wrong that it handled itself (reconnections, dead letters).
 */
export const consoleLogger: Logger = consoleLoggerAt(
  isLogLevel(process.env['CLOUDBUS_LOG_LEVEL']) ? process.env['CLOUDBUS_LOG_LEVEL'] : 'info',
);

/** Drops everything. */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};

/** A pino or bunyan logger: fields first, then the message. */
interface FieldsFirstLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/**
 * pino has `levelVal` and `bindings()`; bunyan has `fields` and `addStream`. Both take the fields
 * first. winston and console take the message first, as {@link Logger} does.
 */
function takesFieldsFirst(logger: object): boolean {
  const candidate = logger as { levelVal?: unknown; bindings?: unknown; addStream?: unknown; fields?: unknown };
  return (
    (typeof candidate.levelVal === 'number' && typeof candidate.bindings === 'function') ||
    (typeof candidate.addStream === 'function' && typeof candidate.fields === 'object')
  );
}

/** Adapts a pino or bunyan logger to {@link Logger}. */
export function fieldsFirstLogger(logger: FieldsFirstLogger): Logger {
  return {
    debug: (message, fields) => logger.debug(fields ?? {}, message),
    info: (message, fields) => logger.info(fields ?? {}, message),
    warn: (message, fields) => logger.warn(fields ?? {}, message),
    error: (message, fields) => logger.error(fields ?? {}, message),
  };
}

/**
 * The `logger` option as a {@link Logger}: console, winston and any `(message, fields)` logger as
 * they are, pino and bunyan adapted, `undefined` as `fallback`. Returns undefined for anything
 * else, for the caller to refuse with its own message.
 */
export function asLogger(value: unknown, fallback: Logger): Logger | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== 'object' || value === null) return undefined;
  const methods = value as Partial<Record<keyof Logger, unknown>>;
  if (!(['debug', 'info', 'warn', 'error'] as const).every((level) => typeof methods[level] === 'function')) return undefined;
  return takesFieldsFirst(value) ? fieldsFirstLogger(value as FieldsFirstLogger) : (value as Logger);
}

import { parseArgs, type ParseArgsConfig } from 'node:util';

import { UsageError } from '../cli-errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;
type Config<O extends Options> = { args: string[]; options: O; allowPositionals: true; strict: true };

/** `parseArgs`, strict, with its errors turned into `UsageError` (exit code 2). */
export function parse<O extends Options>(args: readonly string[], options: O): ReturnType<typeof parseArgs<Config<O>>> {
  try {
    return parseArgs<Config<O>>({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
}

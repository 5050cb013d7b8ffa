import { CloudbusError } from '@cloudbus/core';

/** The command line is wrong: unknown command or option, missing or invalid argument. Exit code 2. */
export class UsageError extends CloudbusError {
  override name = 'UsageError';
}

import { ConfigurationError } from '@cloudbus/core';

import { SmsGatewayError } from './sms-gateway-error.js';
import type { SmsMessage, SmsSender } from './sms-sender.js';

/**
 * An SMS sender that fails a share of its calls, to watch retries and dead letters
 * (`--sms-failure-rate`). Delegates the calls that do not fail.
 */
export class FlakySmsSender implements SmsSender {
  constructor(
    private readonly inner: SmsSender,
    /** Share of calls that fail, 0 to 1. */
    private readonly failureRate: number,
    private readonly random: () => number = Math.random,
  ) {
    if (!(failureRate >= 0 && failureRate <= 1)) throw new ConfigurationError(`FlakySmsSender: failureRate must be between 0 and 1, got ${String(failureRate)}.`);
  }

  send(message: SmsMessage): Promise<void> {
    if (this.random() < this.failureRate) return Promise.reject(new SmsGatewayError(`SMS gateway refused the message to ${message.to}`));
    return this.inner.send(message);
  }
}

/** An SMS to send. */
export interface SmsMessage {
  readonly to: string;
  readonly text: string;
  readonly orderId: string;
}

/** Sends SMS. Plug in a gateway client; the default records what it would send. Throw to fail (the handler retries). */
export interface SmsSender {
  send(message: SmsMessage): Promise<void>;
}

/** Injection token of the {@link SmsSender}. */
export const SMS_SENDER = Symbol.for('pizzeria.SmsSender');

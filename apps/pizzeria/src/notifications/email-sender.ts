/** An e-mail to send. */
export interface EmailMessage {
  readonly to: string;
  readonly subject: string;
  readonly body: string;
  readonly orderId: string;
}

/** Sends e-mail. Plug in a mail client; the default records what it would send. Throw to fail (the handler retries). */
export interface EmailSender {
  send(message: EmailMessage): Promise<void>;
}

/** Injection token of the {@link EmailSender}. */
export const EMAIL_SENDER = Symbol.for('pizzeria.EmailSender');

/** A message sent (or, with the default senders, that would have been sent) to a customer. */
export interface Notification {
  readonly channel: 'sms' | 'email';
  readonly recipient: string;
  readonly orderId: string;
  /** E-mail subject; null for SMS. */
  readonly subject: string | null;
  readonly body: string;
  readonly sentAt: string;
}

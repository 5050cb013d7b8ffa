import type { EmailMessage, EmailSender } from './email-sender.js';
import type { NotificationLog } from './notification-log.js';

/** The default e-mail sender: sends nothing, records what it would send (GET /notifications). */
export class RecordingEmailSender implements EmailSender {
  constructor(private readonly log: NotificationLog) {}

  send(message: EmailMessage): Promise<void> {
    return this.log.record({ channel: 'email', recipient: message.to, orderId: message.orderId, subject: message.subject, body: message.body });
  }
}

import type { NotificationLog } from './notification-log.js';
import type { SmsMessage, SmsSender } from './sms-sender.js';

/** The default SMS sender: sends nothing, records what it would send (GET /notifications). */
export class RecordingSmsSender implements SmsSender {
  constructor(private readonly log: NotificationLog) {}

  send(message: SmsMessage): Promise<void> {
    return this.log.record({ channel: 'sms', recipient: message.to, orderId: message.orderId, subject: null, body: message.text });
  }
}

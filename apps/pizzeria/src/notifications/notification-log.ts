import type { Database } from '../persistence/database.js';
import type { Notification } from './notification.js';

/** The notifications sent, in the database: what GET /notifications lists. */
export class NotificationLog {
  constructor(private readonly db: Database) {}

  async record(notification: Omit<Notification, 'sentAt'>): Promise<void> {
    await this.db.execute('INSERT INTO notifications (channel, recipient, order_id, subject, body, sent_at) VALUES (?, ?, ?, ?, ?, ?)', [
      notification.channel,
      notification.recipient,
      notification.orderId,
      notification.subject,
      notification.body,
      new Date().toISOString(),
    ]);
  }

  /** Notifications, newest first, of one order or of all. */
  async list(options: { readonly orderId?: string | undefined; readonly limit?: number | undefined } = {}): Promise<Notification[]> {
    const limit = options.limit ?? 100;
    const rows = await this.db.query<{ channel: 'sms' | 'email'; recipient: string; order_id: string; subject: string | null; body: string; sent_at: string }>(
      options.orderId === undefined
        ? 'SELECT channel, recipient, order_id, subject, body, sent_at FROM notifications ORDER BY position DESC LIMIT ?'
        : 'SELECT channel, recipient, order_id, subject, body, sent_at FROM notifications WHERE order_id = ? ORDER BY position DESC LIMIT ?',
      options.orderId === undefined ? [limit] : [options.orderId, limit],
    );
    return rows.map((row) => ({
      channel: row.channel,
      recipient: row.recipient,
      orderId: row.order_id,
      subject: row.subject,
      body: row.body,
      sentAt: row.sent_at,
    }));
  }
}

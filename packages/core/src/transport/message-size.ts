import { oversize } from '../envelope/in-process-event.js';
import { MessageTooLargeError } from '../errors.js';
import type { OutgoingMessage } from './transport.js';

/**
 * The size check every transport makes before it sends anything: throws `MessageTooLargeError`
 * when the message is over `maxBytes`. `size` is the size the transport will really send, when
 * it adds bytes of its own (NATS headers); by default the message's wire size.
 */
export function checkMessageSize(outgoing: OutgoingMessage, maxBytes: number, size?: number): void {
  const over = size === undefined ? oversize(outgoing.message, maxBytes) : size > maxBytes ? size : undefined;
  if (over !== undefined) throw new MessageTooLargeError(outgoing.id, over, maxBytes);
}

import { BrokerConnectionError, type BrokerConnectionErrorOptions } from '@cloudbus/core/transport';

/**
 * The transport could not connect to RabbitMQ (refused, timed out, TLS failed, login refused).
 * The message names the endpoint without credentials and says what to check; `cause` is the
 * client's error, with any credentials removed from its message.
 */
export class RabbitMqConnectionError extends BrokerConnectionError {
  override name = 'RabbitMqConnectionError';
  constructor(
    /** `amqp://host:port/vhost`, without credentials. */
    readonly endpoint: string,
    message: string,
    options?: BrokerConnectionErrorOptions,
  ) {
    super(message, options);
  }
}

/** Why the broker did not take a message (no confirm in time, not connected, buffer full): the `cause` of a `PublishError`. */
export class RabbitMqPublishRefusal extends Error {
  override name = 'RabbitMqPublishRefusal';
}

/** A copy of a client error with its message redacted; keeps the original's `name` and `code`. */
class RedactedError extends Error {}

/** Removes every occurrence of the given secrets from a text. */
export function redact(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) {
    if (secret.length >= 3) result = result.split(secret).join('***');
  }
  return result;
}

/** A client error as a safe cause: same name and code, message with secrets removed, no stack of foreign frames lost. */
export function safeCause(error: unknown, secrets: readonly string[]): Error {
  const original = error instanceof Error ? error : new RedactedError(String(error));
  const message = redact(original.message, secrets);
  if (message === original.message) return original;
  const copy = new RedactedError(message);
  copy.name = original.name;
  const code = (original as { code?: unknown }).code;
  if (code !== undefined) (copy as { code?: unknown }).code = code;
  return copy;
}

/**
 * The broker accepted the login, then closed the connection at `connection.open`: the virtual
 * host does not exist or the user has no access to it (amqplib shows only the raw frame).
 */
export function isVhostRefusal(error: unknown): boolean {
  return error instanceof Error && /Expected ConnectionOpenOk; got <ConnectionClose/.test(error.message);
}

/** The connection ended during the AMQP handshake, as it does when the port speaks another protocol. */
export function isHandshakeFailure(error: unknown): boolean {
  const text = error instanceof Error ? `${(error as { code?: unknown }).code ?? ''} ${error.message}` : String(error);
  return /ECONNRESET|closed abruptly|handshake|ETIMEDOUT|timed? ?out|Unexpected|frame/i.test(text);
}

/** Says what to check for a connection failure, from the client's error. */
export function connectionAdvice(error: unknown): string {
  const text = error instanceof Error ? `${(error as { code?: unknown }).code ?? ''} ${error.message}` : String(error);
  // Socket errors first: their text holds an address, whose port may contain 403 or 530.
  if (/ECONNREFUSED/.test(text)) return 'connection refused: is RabbitMQ running and listening on that host and port?';
  if (/ENOTFOUND|EAI_AGAIN/.test(text)) return 'host name not found: check the host in the URL';
  if (/ACCESS.REFUSED|\b403\b/i.test(text)) return 'login refused: check the user name and password (and that the user may access the virtual host)';
  if (/NOT.ALLOWED|\b530\b/i.test(text)) return 'access to the virtual host refused: check that it exists and that the user has permissions on it';
  if (/ETIMEDOUT|timed? ?out/i.test(text)) return 'timed out: check the host, port and firewalls';
  if (/certificate|SSL|TLS|self.signed|CERT_|ERR_SSL/i.test(text)) return 'TLS failed: check tls.ca / tls.cert / tls.key / tls.servername and that the port speaks TLS';
  if (/ECONNRESET|socket|closed/i.test(text)) return 'the connection was closed during the handshake: check that the port speaks AMQP 0-9-1 (amqps:// for a TLS port)';
  return 'check the URL, the credentials and that the broker is running';
}

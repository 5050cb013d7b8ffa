// A URL's user info: scheme://user:password@ (the password ends at the last '@' before the host).
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s/?#@:]*:)[^\s/?#]*@/gi;

/**
 * `text` with the password of every URL in it replaced by `***`
 * (`amqp://app:s3cret@db:5672` → `amqp://app:***@db:5672`). Error messages go to telemetry,
 * dead-letter records and logs, and a client library's message may quote the URL it was given.
 */
export function redactCredentials(text: string): string {
  return text.includes('://') ? text.replace(URL_PASSWORD, '$1***@') : text;
}

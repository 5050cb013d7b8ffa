/** Placeholder that stands for a secret removed from a URL or a message. */
export const REDACTED = '***';

/**
 * A URL without its password (`amqp://guest:***@host:5672` stays recognisable). Text that is not
 * a URL is returned as `REDACTED` entirely: it might be a URL the parser rejected, password and all.
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return REDACTED;
  }
  if (parsed.password === '') return url;
  parsed.password = REDACTED;
  return parsed.toString();
}

/** `text` with every occurrence of each secret (raw and percent-encoded) replaced by `REDACTED`. */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let result = text;
  for (const secret of secrets) {
    if (secret === undefined || secret.length < 3) continue;
    for (const form of new Set([secret, encodeURIComponent(secret)])) result = result.split(form).join(REDACTED);
  }
  return result;
}

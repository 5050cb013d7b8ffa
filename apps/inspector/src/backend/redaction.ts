/** Placeholder that stands for a secret removed from a message. */
export const REDACTED = '***';

/**
 * `text` with every occurrence of each known secret (raw and percent-encoded) replaced by
 * `REDACTED`: a client library's error may quote the password it was given, not only in a URL
 * (core's `redactCredentials` handles URLs).
 */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let result = text;
  for (const secret of secrets) {
    if (secret === undefined || secret.length < 3) continue;
    for (const form of new Set([secret, encodeURIComponent(secret)])) result = result.split(form).join(REDACTED);
  }
  return result;
}

/**
 * A broker URL (or a comma-separated list of them) with any password replaced by `***`, safe to
 * log or show. Text that is not a URL is returned with anything between `//` and `@` masked.
 */
export function redactUrl(url: string): string {
  return url
    .split(',')
    .map((entry) => {
      const trimmed = entry.trim();
      if (URL.canParse(trimmed)) {
        const parsed = new URL(trimmed);
        if (parsed.password === '') return trimmed;
        parsed.password = '***';
        return parsed.href;
      }
      return trimmed.replace(/\/\/[^/@]*@/, '//***@');
    })
    .join(',');
}

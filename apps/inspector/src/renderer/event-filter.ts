import type { EventSummary } from '../shared/captured-event.js';

/** The live stream's filters, as typed in the filter bar. */
export interface EventFilter {
  readonly type: string;
  readonly source: string;
  readonly subject: string;
  readonly correlationId: string;
  /** Free text over every field and the data preview; a regular expression when `regex`. */
  readonly text: string;
  readonly regex: boolean;
  readonly showTelemetry: boolean;
}

export const EMPTY_FILTER: EventFilter = { type: '', source: '', subject: '', correlationId: '', text: '', regex: false, showTelemetry: false };

/** A compiled filter: a predicate, or the error of a bad regular expression. */
export type CompiledFilter = { readonly matches: (event: EventSummary) => boolean; readonly error?: string };

/** Compiles the filter once per change; field filters are case-insensitive substrings. */
export function compileFilter(filter: EventFilter): CompiledFilter {
  const type = filter.type.toLowerCase();
  const source = filter.source.toLowerCase();
  const subject = filter.subject.toLowerCase();
  const correlation = filter.correlationId.toLowerCase();
  let text: ((value: string) => boolean) | undefined;
  let error: string | undefined;
  if (filter.text !== '') {
    if (filter.regex) {
      try {
        const pattern = new RegExp(filter.text, 'i');
        text = (value) => pattern.test(value);
      } catch (cause) {
        error = (cause as Error).message;
        text = () => false;
      }
    } else {
      const needle = filter.text.toLowerCase();
      text = (value) => value.toLowerCase().includes(needle);
    }
  }
  const matches = (event: EventSummary): boolean => {
    if (!filter.showTelemetry && event.kind === 'telemetry') return false;
    if (type !== '' && !event.type.toLowerCase().includes(type)) return false;
    if (source !== '' && !event.source.toLowerCase().includes(source)) return false;
    if (subject !== '' && !event.subject.toLowerCase().includes(subject)) return false;
    if (correlation !== '' && !event.correlationId.toLowerCase().includes(correlation)) return false;
    if (text !== undefined) {
      const haystack = `${event.id}\n${event.type}\n${event.source}\n${event.subject}\n${event.correlationId}\n${event.deadLetterHandler}\n${event.deadLetterReason}\n${event.preview}`;
      if (!text(haystack)) return false;
    }
    return true;
  };
  return error === undefined ? { matches } : { matches, error };
}

import { describe, expect, it } from 'vitest';

import type { EventSummary } from '../shared/captured-event.js';
import { compileFilter, EMPTY_FILTER } from './event-filter.js';

const base: EventSummary = {
  seq: 0, profileId: 'p', kind: 'event', receivedAt: 0, id: 'e-1', type: 'com.mariopizzeria.order.placed', source: '/pizzeria',
  subject: 'o-42', time: '', correlationId: 'corr-9', causationId: '', deadLetterHandler: '', deadLetterReason: '', preview: '{"total":"31.98"}',
};

describe('live stream filters', () => {
  it('narrow by type, source, subject and correlation, case-insensitively', () => {
    expect(compileFilter({ ...EMPTY_FILTER, type: 'ORDER.placed' }).matches(base)).toBe(true);
    expect(compileFilter({ ...EMPTY_FILTER, type: 'delivered' }).matches(base)).toBe(false);
    expect(compileFilter({ ...EMPTY_FILTER, source: 'pizz', subject: 'o-42', correlationId: 'corr' }).matches(base)).toBe(true);
    expect(compileFilter({ ...EMPTY_FILTER, correlationId: 'other' }).matches(base)).toBe(false);
  });

  it('search free text in the data preview, as a regular expression when asked', () => {
    expect(compileFilter({ ...EMPTY_FILTER, text: '31.98' }).matches(base)).toBe(true);
    expect(compileFilter({ ...EMPTY_FILTER, text: 'total":"\\d+\\.\\d{2}', regex: true }).matches(base)).toBe(true);
    expect(compileFilter({ ...EMPTY_FILTER, text: '^nothing$', regex: true }).matches(base)).toBe(false);
  });

  it('report a bad regular expression instead of throwing', () => {
    const compiled = compileFilter({ ...EMPTY_FILTER, text: '(', regex: true });
    expect(compiled.error).toBeDefined();
    expect(compiled.matches(base)).toBe(false);
  });

  it('hide telemetry batches unless asked', () => {
    const telemetry = { ...base, kind: 'telemetry' as const };
    expect(compileFilter(EMPTY_FILTER).matches(telemetry)).toBe(false);
    expect(compileFilter({ ...EMPTY_FILTER, showTelemetry: true }).matches(telemetry)).toBe(true);
  });
});

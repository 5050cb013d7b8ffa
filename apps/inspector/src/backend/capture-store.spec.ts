import { describe, expect, it } from 'vitest';

import { CaptureStore } from './capture-store.js';
import { tapped, tappedTelemetry } from './test-messages.js';

describe('the capture', () => {
  it('keeps the newest events, counts the dropped ones and hands each new summary to one tick', () => {
    const store = new CaptureStore({ capacity: 3 });
    store.add('p', tapped({ id: 'tel', type: 'dev.cloudbus.telemetry', data: { service: 's', records: [], dropped: 7 } }));
    store.takePending();
    expect(store.telemetryDropped).toBe(7);
    for (let i = 0; i < 5; i++) store.add('p', tapped({ id: `e-${i}`, type: 't' }));
    expect(store.dropped).toBe(3);
    expect(store.total).toBe(6);
    expect(store.snapshot().events.map((e) => e.id)).toEqual(['e-2', 'e-3', 'e-4']);
    expect(store.takePending().events).toHaveLength(5);
    expect(store.takePending().events).toHaveLength(0);
    expect(store.get(1)).toBeUndefined();
    expect(store.get(5)?.summary.id).toBe('e-4');
  });

  it('keeps dead letters for their view after the stream pushed them out of the capture, grouped by handler and reason', () => {
    const store = new CaptureStore({ capacity: 2 });
    const dl = (id: string, handler: string, reason: string) =>
      store.add('p', tapped({ id, type: 't', deadletterhandler: handler, deadletterreason: reason, deadlettertime: `2026-01-01T00:00:0${id.length}Z` }, { deadLetter: true, destination: 't' }));
    dl('a', 'shop.Sms', 'retries-exhausted');
    dl('bb', 'shop.Sms', 'retries-exhausted');
    dl('c', 'shop.Kitchen', 'non-retryable');
    dl('c', 'shop.Kitchen', 'non-retryable'); // the same dead letter read twice
    for (let i = 0; i < 5; i++) store.add('p', tapped({ id: `e-${i}`, type: 't' }));
    const groups = store.deadLetterGroups();
    expect(groups.map((g) => [g.handler, g.reason, g.entries.length])).toEqual([
      ['shop.Kitchen', 'non-retryable', 1],
      ['shop.Sms', 'retries-exhausted', 2],
    ]);
    expect(store.get(groups[1]!.entries[0]!.seq)?.summary.id).toBe('a');
  });

  it('exports the capture as CloudEvents and imports it back with flows intact', () => {
    const store = new CaptureStore();
    store.add('p', tapped({ id: 'a', type: 'order.placed', correlationid: 'c-1', data: { n: 1 } }));
    store.add('p', tapped({ id: 'b', type: 'order.paid', correlationid: 'c-1', causationid: 'a' }));
    store.add('p', tappedTelemetry('t', [{ kind: 'handler-succeeded', time: 1, service: 's', eventId: 'a', correlationId: 'c-1', handler: 's.H', attempt: 1, durationMs: 2 }]));
    const batch = store.exportBatch();
    expect(batch).toHaveLength(3);
    expect(batch[0]).toMatchObject({ specversion: '1.0', id: 'a', data: { n: 1 } });

    const other = new CaptureStore();
    expect(other.importBatch([...batch, 'not an event'])).toEqual({ imported: 3, rejected: 1 });
    const flow = other.flow('c-1');
    expect(flow.nodes.map((n) => n.id)).toEqual(['a', 'b']);
    expect(flow.lanes.map((l) => l.handler)).toEqual(['s.H']);
  });
});

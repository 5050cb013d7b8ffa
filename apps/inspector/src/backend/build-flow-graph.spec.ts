import { describe, expect, it } from 'vitest';

import type { EventSummary } from '../shared/captured-event.js';
import type { TelemetryRecord } from '../shared/telemetry-record.js';
import { buildFlowGraph, sagaInstances } from './build-flow-graph.js';

let seq = 0;
function event(id: string, type: string, causationId = '', time = seq * 10, correlationId = 'c-1'): { summary: EventSummary; replayed: boolean } {
  return {
    summary: {
      seq: seq++,
      profileId: 'p',
      kind: 'event',
      receivedAt: time,
      id,
      type,
      source: '/shop',
      subject: '',
      time: new Date(time).toISOString(),
      correlationId,
      causationId,
      deadLetterHandler: '',
      deadLetterReason: '',
      preview: '',
    },
    replayed: false,
  };
}

describe('building the causation graph of a correlation', () => {
  it('puts each event one column right of its cause and spreads a fan-out down the column', () => {
    const graph = buildFlowGraph(
      'c-1',
      [event('a', 'order.placed', '', 0), event('b', 'payment.processed', 'a', 10), event('c', 'cooking.started', 'a', 20), event('d', 'order.ready', 'c', 30), event('x', 'other', '', 0, 'c-2')],
      [],
    );
    const place = Object.fromEntries(graph.nodes.map((n) => [n.id, [n.column, n.row]]));
    expect(place).toEqual({ a: [0, 0], b: [1, 0], c: [1, 1], d: [2, 0] });
    expect(graph.edges).toEqual(expect.arrayContaining([{ from: 'a', to: 'b' }, { from: 'a', to: 'c' }, { from: 'c', to: 'd' }]));
    expect(graph.edges).toHaveLength(3);
  });

  it('adds events known only from published telemetry, and marks an orphan whose cause was not seen', () => {
    const telemetry: TelemetryRecord[] = [{ kind: 'published', time: 5, service: 'shop', eventId: 'b', eventType: 'payment.processed', correlationId: 'c-1', causationId: 'a', source: '/shop' }];
    const graph = buildFlowGraph('c-1', [event('a', 'order.placed', 'gone', 0)], telemetry);
    expect(graph.nodes.map((n) => [n.id, n.seq === undefined, n.orphan])).toEqual([
      ['a', false, true],
      ['b', true, false],
    ]);
  });

  it('draws a lane per handler with retries, backoff and the dead letter, and its worst outcome', () => {
    const base = { service: 'shop', correlationId: 'c-1', eventId: 'a', eventType: 'order.placed' } as const;
    const telemetry: TelemetryRecord[] = [
      { ...base, kind: 'handler-started', time: 1, handler: 'shop.Sms', attempt: 1 },
      { ...base, kind: 'handler-failed', time: 2, handler: 'shop.Sms', attempt: 1, durationMs: 1, willRetry: true, error: { type: 'Error', message: 'down' } },
      { ...base, kind: 'retry-scheduled', time: 3, handler: 'shop.Sms', nextAttempt: 2, delayMs: 200 },
      { ...base, kind: 'handler-started', time: 204, handler: 'shop.Sms', attempt: 2 },
      { ...base, kind: 'handler-failed', time: 205, handler: 'shop.Sms', attempt: 2, durationMs: 1, willRetry: false, error: { type: 'Error', message: 'down' } },
      { ...base, kind: 'dead-lettered', time: 206, handler: 'shop.Sms', attempts: 2, reason: 'retries-exhausted', error: { type: 'Error', message: 'down' } },
      { ...base, kind: 'handler-started', time: 1, handler: 'shop.Kitchen', attempt: 1 },
      { ...base, kind: 'handler-succeeded', time: 9, handler: 'shop.Kitchen', attempt: 1, durationMs: 8 },
      { ...base, kind: 'handler-succeeded', time: 9, handler: 'shop.Kitchen', attempt: 1, durationMs: 8 },
      { ...base, kind: 'handler-skipped', time: 20, handler: 'shop.Kitchen', attempt: 1, reason: 'duplicate' },
      { ...base, kind: 'handler-exploded' as 'published', time: 21, handler: 'shop.Kitchen' },
    ];
    const graph = buildFlowGraph('c-1', [event('a', 'order.placed', '', 0)], telemetry);
    const sms = graph.lanes.find((lane) => lane.handler === 'shop.Sms')!;
    expect(sms.outcome).toBe('dead-lettered');
    expect(sms.steps.map((s) => s.kind)).toEqual(['handler-started', 'handler-failed', 'retry-scheduled', 'handler-started', 'handler-failed', 'dead-lettered']);
    expect(sms.steps[2]).toMatchObject({ delayMs: 200, attempt: 2 });
    const kitchen = graph.lanes.find((lane) => lane.handler === 'shop.Kitchen')!;
    expect(kitchen.outcome).toBe('succeeded');
    // The duplicate record is shown once; a skipped redelivery is a step; an unknown kind is left out.
    expect(kitchen.steps.map((s) => s.kind)).toEqual(['handler-started', 'handler-succeeded', 'handler-skipped']);
    expect(graph.end).toBeGreaterThanOrEqual(206);
  });

  it('survives a causation cycle in foreign data', () => {
    const graph = buildFlowGraph('c-1', [event('a', 't', 'b'), event('b', 't', 'a')], []);
    expect(graph.nodes).toHaveLength(2);
  });
});

describe('saga instances of a flow', () => {
  const record = (action: string, time: number, detail?: string, key = 'o-1') =>
    ({ kind: 'saga', time, service: 'pizzeria', correlationId: 'flow', saga: 'OrderLifecycle', key, action, handler: 'pizzeria.OrderLifecycle.placed', ...(detail === undefined ? {} : { detail }) }) as const;

  it('shows an active instance with the timeouts still ahead, and none once it completed', () => {
    const now = Date.parse('2030-01-01T00:00:00.000Z');
    const active = sagaInstances([record('started', 1), record('timeout-requested', 2, '2030-01-01T00:15:00.000Z'), record('timeout-requested', 3, '2029-12-31T23:00:00.000Z')], now);
    expect(active).toEqual([expect.objectContaining({ saga: 'OrderLifecycle', key: 'o-1', status: 'active', lastAction: 'timeout-requested', pendingTimeouts: [Date.parse('2030-01-01T00:15:00.000Z')] })]);
    const done = sagaInstances([record('started', 1), record('timeout-requested', 2, '2030-01-01T00:15:00.000Z'), record('completed', 3)], now);
    expect(done).toEqual([expect.objectContaining({ status: 'completed', pendingTimeouts: [] })]);
  });

  it('shows the state last saved, and keeps the bookkeeping `updated` out of the last action', () => {
    const updated = (time: number, state: string) => ({ ...record('updated', time), state });
    const views = sagaInstances([record('started', 1), updated(2, '{"paid":false}'), record('timeout-requested', 3, '2030-01-01T00:15:00.000Z'), updated(4, '{"paid":true}')], 0);
    expect(views).toEqual([expect.objectContaining({ state: '{"paid":true}', lastAction: 'timeout-requested' })]);
    expect(views[0]!.actions.map((a) => a.action)).toEqual(['started', 'timeout-requested']);
  });

  it('reaches the flow graph from telemetry', () => {
    const graph = buildFlowGraph('flow', [], [record('started', 1), record('timeout-dropped', 2, 'stale', 'o-2')]);
    expect(graph.sagas?.map((s) => `${s.key}:${s.lastAction}`)).toEqual(['o-1:started', 'o-2:timeout-dropped']);
  });
});

import type { EventSummary } from '../shared/captured-event.js';
import type { FlowEdge, FlowGraph, FlowNode, HandlerLane, HandlerStep, SagaInstanceView } from '../shared/flow-graph.js';
import { compareNumber, compareText } from './compare.js';
import type { TelemetryRecord } from '../shared/telemetry-record.js';

/** Extension the inspector sets on events it republished from a dead letter. */
export const REPLAY_EXTENSION = 'inspectorreplay';

/** An event of the flow as the builder needs it. */
export interface FlowEventInput {
  readonly summary: EventSummary;
  readonly replayed: boolean;
}

interface NodeDraft {
  id: string;
  type: string;
  source: string;
  seq: number | undefined;
  causationId: string;
  time: number;
  replayed: boolean;
}

const LANE_RANK: Record<HandlerLane['outcome'], number> = { succeeded: 0, running: 1, retrying: 2, failed: 3, 'dead-lettered': 4 };

function timeOf(summary: EventSummary): number {
  const parsed = summary.time === '' ? Number.NaN : Date.parse(summary.time);
  return Number.isNaN(parsed) ? summary.receivedAt : parsed;
}

const STEP_KINDS: ReadonlySet<string> = new Set(['handler-started', 'handler-succeeded', 'handler-skipped', 'handler-failed', 'retry-scheduled', 'dead-lettered']);

function stepOf(record: TelemetryRecord): HandlerStep | undefined {
  // Kinds a newer core may add are left out rather than drawn wrongly.
  if (record.kind === 'published' || !STEP_KINDS.has(record.kind) || record.handler === undefined || record.eventId === undefined) return undefined;
  return {
    eventId: record.eventId,
    eventType: record.eventType ?? '',
    kind: record.kind as HandlerStep['kind'],
    attempt: record.attempt ?? record.nextAttempt ?? record.attempts ?? 0,
    time: record.time,
    durationMs: record.durationMs,
    delayMs: record.delayMs,
    reason: record.reason,
    error: record.error?.message,
  };
}

function outcomeOf(kind: HandlerStep['kind']): HandlerLane['outcome'] {
  switch (kind) {
    case 'handler-started':
      return 'running';
    case 'handler-succeeded':
    case 'handler-skipped':
      return 'succeeded';
    case 'handler-failed':
      return 'failed';
    case 'retry-scheduled':
      return 'retrying';
    case 'dead-lettered':
      return 'dead-lettered';
  }
}

/**
 * Builds the causation graph of one correlation: a node per event (captured, or known only from
 * a `published` telemetry record), an edge from each event's `causationid` to it, laid out in
 * columns by causation depth (fan-out spreads down a column, the next step goes right), and a
 * lane per handler with every step telemetry reported for the flow's events.
 */
export function buildFlowGraph(correlationId: string, events: Iterable<FlowEventInput>, telemetry: Iterable<TelemetryRecord>): FlowGraph {
  const drafts = new Map<string, NodeDraft>();
  for (const { summary, replayed } of events) {
    if (summary.correlationId !== correlationId || summary.id === '') continue;
    const existing = drafts.get(summary.id);
    if (existing !== undefined) continue; // a redelivery or duplicate of an event already placed
    drafts.set(summary.id, {
      id: summary.id,
      type: summary.type,
      source: summary.source,
      seq: summary.seq,
      causationId: summary.causationId,
      time: timeOf(summary),
      replayed,
    });
  }
  const stepsByHandler = new Map<string, HandlerStep[]>();
  const seenSteps = new Set<string>();
  const sagaRecords: TelemetryRecord[] = [];
  for (const record of telemetry) {
    if (record.correlationId !== correlationId) continue;
    if (record.kind === 'saga') {
      sagaRecords.push(record);
      continue;
    }
    if (record.kind === 'published') {
      if (record.eventId !== undefined && !drafts.has(record.eventId)) {
        drafts.set(record.eventId, {
          id: record.eventId,
          type: record.eventType ?? '',
          source: record.source ?? '',
          seq: undefined,
          causationId: record.causationId ?? '',
          time: record.time,
          replayed: false,
        });
      }
      continue;
    }
    const step = stepOf(record);
    if (step === undefined) continue;
    const key = `${record.handler}|${step.eventId}|${step.kind}|${step.attempt}|${step.time}`;
    if (seenSteps.has(key)) continue;
    seenSteps.add(key);
    let steps = stepsByHandler.get(record.handler!);
    if (steps === undefined) stepsByHandler.set(record.handler!, (steps = []));
    steps.push(step);
  }

  // Columns: causation depth, with a guard against cycles in foreign data.
  const columns = new Map<string, number>();
  const columnOf = (id: string, path: Set<string>): number => {
    const known = columns.get(id);
    if (known !== undefined) return known;
    const draft = drafts.get(id)!;
    const parent = draft.causationId === '' ? undefined : drafts.get(draft.causationId);
    let column = 0;
    if (parent !== undefined && !path.has(parent.id)) {
      path.add(id);
      column = columnOf(parent.id, path) + 1;
      path.delete(id);
    }
    columns.set(id, column);
    return column;
  };
  for (const id of drafts.keys()) columnOf(id, new Set([id]));

  // Rows: column by column, children in their parent's order, then by time.
  const rows = new Map<string, number>();
  const byColumn = new Map<number, NodeDraft[]>();
  for (const draft of drafts.values()) {
    const column = columns.get(draft.id)!;
    let list = byColumn.get(column);
    if (list === undefined) byColumn.set(column, (list = []));
    list.push(draft);
  }
  const columnNumbers = [...byColumn.keys()].sort((a, b) => a - b);
  for (const column of columnNumbers) {
    const list = byColumn.get(column)!;
    list.sort((a, b) => {
      const parentA = rows.get(a.causationId) ?? -1;
      const parentB = rows.get(b.causationId) ?? -1;
      return parentA - parentB || compareNumber(a.time, b.time) || compareText(a.id, b.id);
    });
    list.forEach((draft, row) => rows.set(draft.id, row));
  }

  const nodes: FlowNode[] = [];
  const edges: FlowEdge[] = [];
  let start = Number.POSITIVE_INFINITY;
  let end = Number.NEGATIVE_INFINITY;
  for (const column of columnNumbers) {
    for (const draft of byColumn.get(column)!) {
      const hasParent = draft.causationId !== '' && drafts.has(draft.causationId);
      nodes.push({
        id: draft.id,
        type: draft.type,
        source: draft.source,
        seq: draft.seq,
        causationId: draft.causationId,
        time: draft.time,
        column,
        row: rows.get(draft.id)!,
        replayed: draft.replayed,
        orphan: draft.causationId !== '' && !hasParent,
      });
      if (hasParent) edges.push({ from: draft.causationId, to: draft.id });
      start = Math.min(start, draft.time);
      end = Math.max(end, draft.time);
    }
  }

  const lanes: HandlerLane[] = [];
  for (const [handler, steps] of stepsByHandler) {
    steps.sort((a, b) => compareNumber(a.time, b.time));
    const lastByEvent = new Map<string, HandlerStep['kind']>();
    for (const step of steps) {
      lastByEvent.set(step.eventId, step.kind);
      start = Math.min(start, step.time);
      end = Math.max(end, step.time + (step.durationMs ?? 0));
    }
    let outcome: HandlerLane['outcome'] = 'succeeded';
    for (const kind of lastByEvent.values()) {
      const candidate = outcomeOf(kind);
      if (LANE_RANK[candidate] > LANE_RANK[outcome]) outcome = candidate;
    }
    lanes.push({ handler, steps, outcome });
  }
  lanes.sort((a, b) => compareNumber(a.steps[0]?.time, b.steps[0]?.time) || compareText(a.handler, b.handler));
  if (start === Number.POSITIVE_INFINITY) start = end = 0;
  return { correlationId, nodes, edges, lanes, sagas: sagaInstances(sagaRecords, Date.now()), start, end };
}

/**
 * Saga instances from `saga` telemetry records: status, last action, and the due times of the
 * timeouts requested (`timeout-requested`, detail: the due time) that are still ahead of `now`.
 */
export function sagaInstances(records: readonly TelemetryRecord[], now: number): SagaInstanceView[] {
  const byInstance = new Map<string, TelemetryRecord[]>();
  for (const record of [...records].sort((a, b) => compareNumber(a.time, b.time))) {
    if (record.saga === undefined || record.key === undefined || record.action === undefined) continue;
    const id = `${record.saga}\u001f${record.key}`;
    let list = byInstance.get(id);
    if (list === undefined) byInstance.set(id, (list = []));
    list.push(record);
  }
  const views: SagaInstanceView[] = [];
  for (const list of byInstance.values()) {
    const first = list[0]!;
    const last = list[list.length - 1]!;
    const completed = list.some((r) => r.action === 'completed');
    const pending = completed
      ? []
      : list
          .filter((r) => r.action === 'timeout-requested' && r.detail !== undefined)
          .map((r) => Date.parse(r.detail!))
          .filter((due) => Number.isFinite(due) && due > now)
          .sort((a, b) => a - b);
    // The latest action that is not the bookkeeping `updated` one, which carries the state instead.
    const lastStep = list.filter((r) => r.action !== 'updated').at(-1) ?? last;
    const state = list.filter((r) => r.action === 'updated' && r.state !== undefined).at(-1)?.state;
    views.push({
      saga: first.saga!,
      key: first.key!,
      status: completed ? 'completed' : 'active',
      lastAction: lastStep.action!,
      lastDetail: lastStep.detail,
      ...(state === undefined ? {} : { state }),
      pendingTimeouts: pending,
      actions: list.filter((r) => r.action !== 'updated').map((r) => ({ action: r.action!, detail: r.detail, time: r.time })),
    });
  }
  return views.sort((a, b) => compareText(a.saga, b.saga) || compareText(a.key, b.key));
}

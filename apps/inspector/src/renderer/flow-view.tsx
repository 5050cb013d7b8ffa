import { useEffect, useState, type ReactElement } from 'react';

import type { FlowGraph, HandlerStep } from '../shared/flow-graph.js';
import { ErrorBoundary } from './error-boundary.js';
import { isoTime } from './format-time.js';
import type { InspectorClient } from './inspector-client.js';

const COLUMN = 225;
const ROW = 64;
const NODE_W = 190;
const NODE_H = 44;

function shortType(type: string): string {
  const parts = type.split('.');
  return parts.slice(-2).join('.');
}

function ms(value: number | undefined): string {
  const v = value ?? 0;
  return v < 10 ? v.toFixed(1) : String(Math.round(v));
}

function stepText(step: HandlerStep): string {
  const type = shortType(step.eventType);
  switch (step.kind) {
    case 'handler-started':
      return `▶ ${type} #${step.attempt}`;
    case 'handler-succeeded':
      return `✓ ${type} #${step.attempt} ${ms(step.durationMs)} ms`;
    case 'handler-skipped':
      return `⤼ ${type} #${step.attempt} skipped: ${step.reason ?? ''}`;
    case 'handler-failed':
      return `✗ ${type} #${step.attempt} ${ms(step.durationMs)} ms: ${step.error ?? ''}`;
    case 'retry-scheduled':
      return `↻ retry #${step.attempt} in ${step.delayMs ?? 0} ms`;
    case 'dead-lettered':
      return `☠ dead-lettered after ${step.attempt}: ${step.reason ?? ''}`;
  }
}

/** A lane per handler with its steps; in a boundary of its own, so a bad lane leaves the picker usable. */
function HandlerLanes({ lanes }: { lanes: FlowGraph['lanes'] }): ReactElement {
  return (
    <div className="lanes" data-testid="handler-lanes">
      {lanes.map((lane) => (
        <div key={lane.handler} className={`lane outcome-${lane.outcome}`} data-testid="handler-lane" data-handler={lane.handler} data-outcome={lane.outcome}>
          <div className="lane-name">{lane.handler}</div>
          <div className="lane-steps">
            {lane.steps.map((step, index) => (
              <span key={index} className={`step step-${step.kind}`} data-testid="lane-step" data-kind={step.kind} title={isoTime(step.time)}>
                {stepText(step)}
              </span>
            ))}
          </div>
        </div>
      ))}
    </div>
  );
}

/** The saga's state, indented when it is whole JSON (a preview cut at its limit stays as it came). */
function prettyState(state: string): string {
  try {
    return JSON.stringify(JSON.parse(state), null, 2);
  } catch {
    return state;
  }
}

/** The saga instances of the flow: their status, last action, state and pending timeouts. */
function SagaPanel({ sagas }: { sagas: NonNullable<FlowGraph['sagas']> }): ReactElement {
  return (
    <div className="sagas" data-testid="saga-instances">
      {sagas.map((instance) => (
        <div key={`${instance.saga}/${instance.key}`} className={`saga saga-${instance.status}`} data-testid="saga-instance" data-status={instance.status}>
          <div className="saga-name">
            {instance.saga} <span className="saga-key">{instance.key}</span> · {instance.status}
          </div>
          <div className="saga-last">
            last: {instance.lastAction}
            {instance.lastDetail === undefined ? '' : ` (${instance.lastDetail})`}
          </div>
          <div className="saga-timeouts" data-testid="saga-timeouts">
            {instance.pendingTimeouts.length === 0 ? 'no pending timeouts' : `pending timeouts: ${instance.pendingTimeouts.map((due) => isoTime(due)).join(', ')}`}
          </div>
          {instance.state !== undefined && (
            <pre className="saga-state" data-testid="saga-state">
              {prettyState(instance.state)}
            </pre>
          )}
        </div>
      ))}
    </div>
  );
}

/** The causation graph of one correlation, and a lane per handler. Refreshes while events arrive. */
export function FlowView({
  client,
  correlationId,
  correlations,
  version,
  onCorrelation,
  onOpenEvent,
}: {
  client: InspectorClient;
  correlationId: string;
  correlations: readonly string[];
  version: number;
  onCorrelation: (id: string) => void;
  onOpenEvent: (seq: number) => void;
}): ReactElement {
  const [graph, setGraph] = useState<FlowGraph | undefined>(undefined);
  const refresh = Math.floor(version / 5); // about twice a second while events arrive
  useEffect(() => {
    if (correlationId === '') return;
    let cancelled = false;
    void client.request('flow.get', { correlationId }).then((result) => {
      if (!cancelled) setGraph(result);
    });
    return () => {
      cancelled = true;
    };
  }, [client, correlationId, refresh]);

  const nodes = graph?.nodes ?? [];
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const width = (Math.max(0, ...nodes.map((n) => n.column)) + 1) * COLUMN;
  const height = (Math.max(0, ...nodes.map((n) => n.row)) + 1) * ROW;
  return (
    <div className="flow" data-testid="flow-view">
      <div className="flow-pick">
        <label>
          correlation{' '}
          <input data-testid="flow-correlation" className="w-l" value={correlationId} onChange={(event) => onCorrelation(event.target.value)} list="correlations" />
        </label>
        <datalist id="correlations">
          {correlations.map((id) => (
            <option key={id} value={id} />
          ))}
        </datalist>
        {graph !== undefined && graph.nodes.length > 0 && (
          <span>
            {graph.nodes.length} events · {graph.lanes.length} handlers · {Math.round(graph.end - graph.start)} ms
          </span>
        )}
      </div>
      {graph !== undefined && graph.nodes.length === 0 && <p>No event of this correlation in the capture.</p>}
      {nodes.length > 0 && (
        <div className="flow-graph">
          <svg width={width} height={height} data-testid="flow-graph" role="img" aria-label="causation graph">
            {graph!.edges.map((edge) => {
              const from = byId.get(edge.from)!;
              const to = byId.get(edge.to)!;
              const x1 = from.column * COLUMN + NODE_W;
              const y1 = from.row * ROW + NODE_H / 2 + 8;
              const x2 = to.column * COLUMN;
              const y2 = to.row * ROW + NODE_H / 2 + 8;
              const mid = (x1 + x2) / 2;
              return <path key={`${edge.from}>${edge.to}`} className="edge" d={`M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`} />;
            })}
            {nodes.map((node) => (
              <g
                key={node.id}
                transform={`translate(${node.column * COLUMN},${node.row * ROW + 8})`}
                className={`node${node.replayed ? ' replayed' : ''}${node.seq === undefined ? ' ghost' : ''}`}
                data-testid="flow-node"
                data-type={node.type}
                onClick={() => node.seq !== undefined && onOpenEvent(node.seq)}
              >
                <rect width={NODE_W} height={NODE_H} rx={6} />
                <text x={8} y={18} className="node-type">
                  {node.replayed ? '↺ ' : ''}
                  {shortType(node.type)}
                </text>
                <text x={8} y={35} className="node-meta">
                  {node.source} · +{Math.round(node.time - graph!.start)} ms
                </text>
              </g>
            ))}
          </svg>
        </div>
      )}
      {graph !== undefined && graph.lanes.length > 0 && (
        <ErrorBoundary name="handler lanes" resetKey={graph}>
          <HandlerLanes lanes={graph.lanes} />
        </ErrorBoundary>
      )}
      {graph?.sagas !== undefined && graph.sagas.length > 0 && (
        <ErrorBoundary name="saga instances" resetKey={graph}>
          <SagaPanel sagas={graph.sagas} />
        </ErrorBoundary>
      )}
    </div>
  );
}

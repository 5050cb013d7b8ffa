/** One event in a correlation's causation graph. */
export interface FlowNode {
  readonly id: string;
  readonly type: string;
  readonly source: string;
  /** Capture sequence number, to open the event; absent when known only from telemetry. */
  readonly seq?: number | undefined;
  readonly causationId: string;
  /** When it was published (CloudEvent time or telemetry), ms since the epoch. */
  readonly time: number;
  /** Column: longest causation path from a root. */
  readonly column: number;
  /** Row inside its column. */
  readonly row: number;
  /** True for an event republished from a dead letter by the inspector. */
  readonly replayed: boolean;
  /** True when the causation parent was not seen (an orphan root). */
  readonly orphan: boolean;
}

/** An edge from a cause to the event it raised. */
export interface FlowEdge {
  readonly from: string;
  readonly to: string;
}

/** What a handler did with one event, from telemetry. */
export interface HandlerStep {
  readonly eventId: string;
  readonly eventType: string;
  readonly kind: 'handler-started' | 'handler-succeeded' | 'handler-skipped' | 'handler-failed' | 'retry-scheduled' | 'dead-lettered';
  readonly attempt: number;
  /** ms since the epoch. */
  readonly time: number;
  readonly durationMs?: number | undefined;
  /** Retry scheduled: backoff before the next attempt. */
  readonly delayMs?: number | undefined;
  /** Dead-lettered or skipped: reason. */
  readonly reason?: string | undefined;
  /** Failed / dead-lettered: error message. */
  readonly error?: string | undefined;
}

/** One handler (subscription) and its steps in this flow, in time order. */
export interface HandlerLane {
  readonly handler: string;
  readonly steps: readonly HandlerStep[];
  /** The last outcome of each event the handler saw. */
  readonly outcome: 'succeeded' | 'failed' | 'retrying' | 'dead-lettered' | 'running';
}

/** A saga instance the flow touched, from its `saga` telemetry records. */
export interface SagaInstanceView {
  /** The saga's stored name. */
  readonly saga: string;
  readonly key: string;
  /** `completed` once a record said so. */
  readonly status: 'active' | 'completed';
  /** The latest thing that happened to it (`started`, `timeout-dropped`, ...), with its detail. */
  readonly lastAction: string;
  readonly lastDetail?: string | undefined;
  /** The state last saved (`updated` records), as JSON; absent before one was seen. */
  readonly state?: string | undefined;
  /** Due times (ms since the epoch) of timeouts requested and not due yet, while active. */
  readonly pendingTimeouts: readonly number[];
  /** Every action seen, in time order. */
  readonly actions: readonly { readonly action: string; readonly detail?: string | undefined; readonly time: number }[];
}

/** The causation graph of one correlation, and the handler lanes. */
export interface FlowGraph {
  readonly correlationId: string;
  readonly nodes: readonly FlowNode[];
  readonly edges: readonly FlowEdge[];
  readonly lanes: readonly HandlerLane[];
  /** Saga instances of the flow (absent from older backends). */
  readonly sagas?: readonly SagaInstanceView[];
  /** First and last time seen in the flow, ms since the epoch. */
  readonly start: number;
  readonly end: number;
}

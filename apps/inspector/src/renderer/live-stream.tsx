import { useMemo, useState, type ReactElement } from 'react';

import type { EventSummary } from '../shared/captured-event.js';
import { compileFilter, type EventFilter } from './event-filter.js';
import { clockTime } from './format-time.js';

const ROW_HEIGHT = 26;
const OVERSCAN = 10;

function timeText(event: EventSummary): string {
  return clockTime(event.time === '' ? event.receivedAt : event.time, event.time);
}

/** Filter bar: type, source, subject, correlation id, free text (regex optional), telemetry toggle. */
export function FilterBar({ filter, onChange, error }: { filter: EventFilter; onChange: (filter: EventFilter) => void; error: string | undefined }): ReactElement {
  const field = (name: 'type' | 'source' | 'subject' | 'correlationId' | 'text', label: string, width: string) => (
    <input
      className={width}
      placeholder={label}
      aria-label={label}
      data-testid={`filter-${name}`}
      value={filter[name]}
      onChange={(event) => onChange({ ...filter, [name]: event.target.value })}
    />
  );
  return (
    <div className="filters">
      {field('type', 'type', 'w-l')}
      {field('source', 'source', 'w-m')}
      {field('subject', 'subject', 'w-m')}
      {field('correlationId', 'correlation id', 'w-m')}
      {field('text', 'free text', 'w-l')}
      <label>
        <input type="checkbox" data-testid="filter-regex" checked={filter.regex} onChange={(event) => onChange({ ...filter, regex: event.target.checked })} /> regex
      </label>
      <label>
        <input type="checkbox" data-testid="filter-telemetry" checked={filter.showTelemetry} onChange={(event) => onChange({ ...filter, showTelemetry: event.target.checked })} /> telemetry
      </label>
      {error !== undefined && <span className="error">{error}</span>}
    </div>
  );
}

/**
 * The live stream: newest first, virtualized (only the rows in view are in the DOM), filtered on
 * each tick. A row click selects the event.
 */
export function LiveStream({
  events,
  version,
  filter,
  selected,
  onSelect,
}: {
  events: readonly EventSummary[];
  version: number;
  filter: EventFilter;
  selected: number | undefined;
  onSelect: (seq: number) => void;
}): ReactElement {
  const compiled = useMemo(() => compileFilter(filter), [filter]);
  const visible = useMemo(() => events.filter(compiled.matches), [events, compiled, version]);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);
  const count = visible.length;
  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(count, Math.ceil((scrollTop + height) / ROW_HEIGHT) + OVERSCAN);
  const rows: ReactElement[] = [];
  for (let index = first; index < last; index++) {
    const event = visible[count - 1 - index]!;
    rows.push(
      <div
        key={event.seq}
        role="row"
        data-testid="event-row"
        data-seq={event.seq}
        className={`row kind-${event.kind}${event.seq === selected ? ' selected' : ''}`}
        style={{ top: index * ROW_HEIGHT }}
        onClick={() => onSelect(event.seq)}
      >
        <span className="c-time">{timeText(event)}</span>
        <span className="c-type" title={event.type}>
          {event.kind === 'dead-letter' ? '☠ ' : ''}
          {event.type || '(invalid)'}
        </span>
        <span className="c-source">{event.source}</span>
        <span className="c-subject">{event.subject}</span>
        <span className="c-corr" title={event.correlationId}>
          {event.correlationId}
        </span>
      </div>,
    );
  }
  return (
    <div className="stream">
      <div className="stream-head">
        <span className="c-time">time</span>
        <span className="c-type">type</span>
        <span className="c-source">source</span>
        <span className="c-subject">subject</span>
        <span className="c-corr">correlation</span>
        <span className="count" data-testid="visible-count">
          {count.toLocaleString('en')} shown
        </span>
      </div>
      <div
        className="stream-body"
        data-testid="stream"
        ref={(element) => {
          if (element !== null && element.clientHeight !== height && element.clientHeight > 0) setHeight(element.clientHeight);
        }}
        onScroll={(event) => setScrollTop(event.currentTarget.scrollTop)}
      >
        <div className="stream-spacer" style={{ height: count * ROW_HEIGHT }}>
          {rows}
        </div>
      </div>
    </div>
  );
}

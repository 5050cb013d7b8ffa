import { useEffect, useState, type ReactElement } from 'react';

import type { EventDetail } from '../shared/captured-event.js';
import type { InspectorClient } from './inspector-client.js';
import { JsonTree } from './json-tree.js';

/** Attributes, data as a JSON tree and the raw wire form of one captured message. */
export function EventDetailPane({ client, seq, onShowFlow }: { client: InspectorClient; seq: number; onShowFlow: (correlationId: string) => void }): ReactElement {
  const [detail, setDetail] = useState<EventDetail | null | undefined>(undefined);
  const [tab, setTab] = useState<'attributes' | 'data' | 'wire'>('attributes');
  useEffect(() => {
    let cancelled = false;
    setDetail(undefined);
    void client.request('event.get', { seq }).then((result) => {
      if (!cancelled) setDetail(result);
    });
    return () => {
      cancelled = true;
    };
  }, [client, seq]);
  if (detail === undefined) return <aside className="detail">Loading…</aside>;
  if (detail === null) return <aside className="detail">This event is no longer in the capture.</aside>;
  const s = detail.summary;
  return (
    <aside className="detail" data-testid="event-detail">
      <h2 title={s.type}>{s.type || '(not a CloudEvent)'}</h2>
      <div className="detail-meta">
        <span className={`kind kind-${s.kind}`}>{s.kind}</span> #{s.seq} · {s.profileId}
        {s.correlationId !== '' && (
          <button type="button" data-testid="show-flow" onClick={() => onShowFlow(s.correlationId)}>
            Show flow
          </button>
        )}
      </div>
      {detail.error !== undefined && <p className="error">{detail.error}</p>}
      <nav className="subtabs">
        {(['attributes', 'data', 'wire'] as const).map((name) => (
          <button key={name} type="button" className={tab === name ? 'active' : ''} onClick={() => setTab(name)} data-testid={`detail-tab-${name}`}>
            {name === 'wire' ? 'raw wire' : name}
          </button>
        ))}
      </nav>
      {tab === 'attributes' && (
        <table className="kv" data-testid="detail-attributes">
          <tbody>
            {Object.entries(detail.attributes).map(([name, value]) => (
              <tr key={name}>
                <th>{name}</th>
                <td>{String(value)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {tab === 'data' && (
        <div className="json" data-testid="detail-data">
          <JsonTree value={detail.telemetry ?? detail.data} />
        </div>
      )}
      {tab === 'wire' && (
        <div data-testid="detail-wire">
          <p>
            <b>destination</b> {detail.wire.destination}
          </p>
          <p>
            <b>content type</b> {detail.wire.contentType || '—'}
          </p>
          <table className="kv">
            <tbody>
              {Object.entries(detail.wire.headers).map(([name, value]) => (
                <tr key={name}>
                  <th>{name}</th>
                  <td>{value}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p>
            <b>body</b> ({detail.wire.bodyEncoding})
          </p>
          <pre className="body">{detail.wire.body}</pre>
        </div>
      )}
    </aside>
  );
}

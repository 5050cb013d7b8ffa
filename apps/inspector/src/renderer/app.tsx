import { useMemo, useState, type ReactElement } from 'react';

import { DeadLettersView } from './dead-letters-view.js';
import { EventDetailPane } from './event-detail.js';
import { ErrorBoundary } from './error-boundary.js';
import { compileFilter, EMPTY_FILTER, type EventFilter } from './event-filter.js';
import { FlowView } from './flow-view.js';
import type { InspectorClient } from './inspector-client.js';
import { FilterBar, LiveStream } from './live-stream.js';
import { PublishForm } from './publish-form.js';
import { RatesView } from './rates-view.js';
import { useCapture } from './use-capture.js';

type View = 'live' | 'flow' | 'dead-letters' | 'rates' | 'publish';
const VIEWS: readonly { id: View; label: string }[] = [
  { id: 'live', label: 'Live stream' },
  { id: 'flow', label: 'Flow' },
  { id: 'dead-letters', label: 'Dead letters' },
  { id: 'rates', label: 'Rates' },
  { id: 'publish', label: 'Publish' },
];

/** The inspector UI: profiles, drop banner, the five views and the event detail pane. */
export function App({ client }: { client: InspectorClient }): ReactElement {
  const capture = useCapture(client);
  const [view, setView] = useState<View>('live');
  const [filter, setFilter] = useState<EventFilter>(EMPTY_FILTER);
  const [selected, setSelected] = useState<number | undefined>(undefined);
  const [correlationId, setCorrelationId] = useState('');
  const [message, setMessage] = useState('');
  const [passwordFor, setPasswordFor] = useState<string | undefined>(undefined);
  const savePassword = async (profileId: string, password: string): Promise<void> => {
    setPasswordFor(undefined);
    try {
      await window.cloudbusInspector?.savePassword(profileId, password);
      await client.request('profile.close', { profileId });
      await client.request('profile.open', { profileId });
      setMessage(`Password of ${profileId} stored encrypted (safeStorage).`);
    } catch (error) {
      setMessage(`Could not store the password: ${(error as Error).message}`);
    }
  };
  const filterError = useMemo(() => compileFilter(filter).error, [filter]);
  const correlations = useMemo(() => {
    const seen = new Set<string>();
    for (let i = capture.events.length - 1; i >= 0 && seen.size < 200; i--) {
      const id = capture.events[i]!.correlationId;
      if (id !== '') seen.add(id);
    }
    return [...seen];
  }, [capture.version]);

  const showFlow = (id: string): void => {
    setCorrelationId(id);
    setView('flow');
  };
  const exportCapture = async (): Promise<void> => {
    const { events } = await client.request('capture.export', {});
    const blob = new Blob([JSON.stringify(events, null, 1)], { type: 'application/cloudevents-batch+json' });
    const link = document.createElement('a');
    link.href = URL.createObjectURL(blob);
    link.download = `cloudbus-capture-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
    link.click();
    URL.revokeObjectURL(link.href);
    setMessage(`Exported ${events.length} events.`);
  };
  const importCapture = async (file: File): Promise<void> => {
    try {
      const parsed: unknown = JSON.parse(await file.text());
      if (!Array.isArray(parsed)) throw new Error('A capture file is a JSON array of CloudEvents.');
      const { imported, rejected } = await client.request('capture.import', { events: parsed });
      setMessage(`Imported ${imported} events${rejected > 0 ? `, ${rejected} rejected` : ''}.`);
    } catch (error) {
      setMessage(`Import failed: ${(error as Error).message}`);
    }
  };

  return (
    <div className="app">
      <header>
        <h1>cloudbus inspector</h1>
        <div className="profiles" data-testid="profiles">
          {capture.profiles.map((status) => (
            <span key={status.profile.id} className={`profile state-${status.state}`} data-testid="profile" data-state={status.state} title={status.error ?? status.profile.url}>
              {status.profile.name} · {status.profile.broker} · {status.state}
              {window.cloudbusInspector !== undefined && (
                <button type="button" onClick={() => setPasswordFor(status.profile.id)}>
                  password…
                </button>
              )}
              {status.state === 'open' ? (
                <button type="button" onClick={() => void client.request('profile.close', { profileId: status.profile.id })}>
                  close
                </button>
              ) : (
                <button type="button" onClick={() => void client.request('profile.open', { profileId: status.profile.id })}>
                  open
                </button>
              )}
            </span>
          ))}
        </div>
        <div className="capture-tools">
          <span data-testid="total">{capture.total.toLocaleString('en')} captured</span>
          <button type="button" onClick={() => void exportCapture()} data-testid="export">
            Export
          </button>
          <label className="button">
            Import
            <input type="file" accept=".json,application/json" hidden data-testid="import-file" onChange={(event) => event.target.files?.[0] && void importCapture(event.target.files[0])} />
          </label>
          <button type="button" data-testid="clear" onClick={() => void client.request('capture.clear', {})}>
            Clear
          </button>
        </div>
      </header>
      {passwordFor !== undefined && (
        <form
          className="note"
          onSubmit={(event) => {
            event.preventDefault();
            const input = event.currentTarget.elements.namedItem('password') as HTMLInputElement;
            void savePassword(passwordFor, input.value);
          }}
        >
          Password of {passwordFor} (kept encrypted by the OS, never in a file in clear): <input name="password" type="password" autoComplete="off" /> <button type="submit">Save</button>{' '}
          <button type="button" onClick={() => setPasswordFor(undefined)}>
            Cancel
          </button>
        </form>
      )}
      {(capture.dropped > 0 || capture.missed > 0 || capture.telemetryDropped > 0) && (
        <div className="banner" role="alert" data-testid="dropped-banner">
          {capture.dropped > 0 && `${capture.dropped.toLocaleString('en')} oldest events dropped: the capture keeps the last ${capture.capacity.toLocaleString('en')}. `}
          {capture.missed > 0 && `${capture.missed.toLocaleString('en')} events not delivered to this window (connection too slow). `}
          {capture.telemetryDropped > 0 && `${capture.telemetryDropped.toLocaleString('en')} telemetry records dropped by the buses (their buffer was full): flows may miss handler steps.`}
        </div>
      )}
      {message !== '' && (
        <div className="note" onClick={() => setMessage('')}>
          {message}
        </div>
      )}
      <nav className="tabs">
        {VIEWS.map((item) => (
          <button key={item.id} type="button" className={view === item.id ? 'active' : ''} onClick={() => setView(item.id)} data-testid={`tab-${item.id}`}>
            {item.label}
          </button>
        ))}
      </nav>
      <main className={selected === undefined ? '' : 'with-detail'}>
        <section className="view">
          {view === 'live' && (
            <ErrorBoundary name="live stream">
              <FilterBar filter={filter} onChange={setFilter} error={filterError} />
              <LiveStream events={capture.events} version={capture.version} filter={filter} selected={selected} onSelect={setSelected} />
            </ErrorBoundary>
          )}
          {view === 'flow' && (
            <ErrorBoundary name="flow" resetKey={correlationId}>
              <FlowView client={client} correlationId={correlationId} correlations={correlations} version={capture.version} onCorrelation={setCorrelationId} onOpenEvent={setSelected} />
            </ErrorBoundary>
          )}
          {view === 'dead-letters' && (
            <ErrorBoundary name="dead letters">
              <DeadLettersView client={client} version={capture.version} onOpenEvent={setSelected} />
            </ErrorBoundary>
          )}
          {view === 'rates' && (
            <ErrorBoundary name="rates">
              <RatesView rates={capture.rates} />
            </ErrorBoundary>
          )}
          {view === 'publish' && (
            <ErrorBoundary name="publish">
              <PublishForm client={client} profiles={capture.profiles} />
            </ErrorBoundary>
          )}
        </section>
        {selected !== undefined && (
          <div className="detail-wrap">
            <button type="button" className="close" aria-label="close detail" onClick={() => setSelected(undefined)}>
              ×
            </button>
            <ErrorBoundary name="event detail" resetKey={selected}>
              <EventDetailPane client={client} seq={selected} onShowFlow={showFlow} />
            </ErrorBoundary>
          </div>
        )}
      </main>
    </div>
  );
}

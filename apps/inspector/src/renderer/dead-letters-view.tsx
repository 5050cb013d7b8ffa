import { useEffect, useState, type ReactElement } from 'react';

import type { ReplayResult } from '../shared/channel-contract.js';
import type { DeadLetterGroup } from '../shared/dead-letter-entry.js';
import type { InspectorClient } from './inspector-client.js';

/** Dead letters grouped by handler and reason; replay one or many after a confirmation. */
export function DeadLettersView({ client, version, onOpenEvent }: { client: InspectorClient; version: number; onOpenEvent: (seq: number) => void }): ReactElement {
  const [groups, setGroups] = useState<readonly DeadLetterGroup[]>([]);
  const [chosen, setChosen] = useState<ReadonlySet<number>>(new Set());
  const [confirming, setConfirming] = useState(false);
  const [result, setResult] = useState<ReplayResult | string | undefined>(undefined);
  const refresh = Math.floor(version / 10);
  useEffect(() => {
    let cancelled = false;
    void client.request('deadletters.list', {}).then((list) => {
      if (!cancelled) setGroups(list);
    });
    return () => {
      cancelled = true;
    };
  }, [client, refresh, result]);

  const toggle = (seq: number): void => {
    const next = new Set(chosen);
    if (next.has(seq)) next.delete(seq);
    else next.add(seq);
    setChosen(next);
  };
  const replay = async (): Promise<void> => {
    setConfirming(false);
    try {
      setResult(await client.request('deadletters.replay', { seqs: [...chosen] }));
      setChosen(new Set());
    } catch (error) {
      setResult((error as Error).message);
    }
  };
  const count = groups.reduce((sum, group) => sum + group.entries.length, 0);
  return (
    <div className="dead-letters" data-testid="dead-letters-view">
      <div className="toolbar">
        <span>
          {count} dead letter{count === 1 ? '' : 's'} in {groups.length} group{groups.length === 1 ? '' : 's'}
        </span>
        <button type="button" data-testid="replay-selected" disabled={chosen.size === 0} onClick={() => setConfirming(true)}>
          Replay {chosen.size} selected…
        </button>
      </div>
      {confirming && (
        <div className="confirm" role="dialog" aria-label="confirm replay" data-testid="replay-confirm">
          <p>
            Republish {chosen.size} dead letter{chosen.size === 1 ? '' : 's'} to {chosen.size === 1 ? 'its' : 'their'} original destination, with a new id
            and causationid = the dead letter's id? Only the handler that gave up runs it again; the other handlers of the event type skip it.
          </p>
          <button type="button" data-testid="replay-confirm-yes" onClick={() => void replay()}>
            Replay
          </button>
          <button type="button" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </div>
      )}
      {typeof result === 'string' && <p className="error">{result}</p>}
      {typeof result === 'object' && (
        <p data-testid="replay-result">
          Replayed {result.replayed.length}
          {result.failed.length > 0 && `, failed ${result.failed.length}: ${result.failed.map((f) => f.error).join('; ')}`}
        </p>
      )}
      {groups.map((group) => (
        <section key={`${group.handler}|${group.reason}`} className="dl-group" data-testid="dead-letter-group" data-handler={group.handler} data-reason={group.reason}>
          <h3>
            {group.handler || '(no handler)'} <span className="reason">{group.reason || '(no record)'}</span> <span className="count">{group.entries.length}</span>
          </h3>
          <table className="grid">
            <thead>
              <tr>
                <th />
                <th>type</th>
                <th>error</th>
                <th>attempts</th>
                <th>dead-lettered</th>
                <th>destination</th>
                <th>replays</th>
              </tr>
            </thead>
            <tbody>
              {group.entries.map((entry) => (
                <tr key={entry.seq} data-testid="dead-letter" data-seq={entry.seq}>
                  <td>
                    <input type="checkbox" aria-label={`select dead letter ${entry.id}`} data-testid="dead-letter-select" checked={chosen.has(entry.seq)} onChange={() => toggle(entry.seq)} />
                  </td>
                  <td>
                    <button type="button" className="link" onClick={() => onOpenEvent(entry.seq)}>
                      {entry.type}
                    </button>
                  </td>
                  <td className="error-text">{entry.error}</td>
                  <td>{entry.attempts}</td>
                  <td>{entry.time.slice(11, 23)}</td>
                  <td>{entry.destination}</td>
                  <td data-testid="dead-letter-replays">{entry.replays.length === 0 ? '' : `↺ ${entry.replays.length}`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ))}
    </div>
  );
}

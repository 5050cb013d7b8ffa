import { useEffect, useRef, useState } from 'react';

import type { EventSummary } from '../shared/captured-event.js';
import type { ProfileStatus } from '../shared/connection-profile.js';
import type { RateSnapshot } from '../shared/rates.js';
import type { InspectorClient } from './inspector-client.js';

/** The capture as the UI holds it: updated once per tick, never per event. */
export interface CaptureView {
  /** Oldest first; bounded to the backend's capacity. */
  readonly events: readonly EventSummary[];
  /** Dropped by the backend's ring buffer. */
  readonly dropped: number;
  /** Never reached this window (a slow connection skipped ticks). */
  readonly missed: number;
  readonly total: number;
  /** Telemetry records the buses dropped before sending. */
  readonly telemetryDropped: number;
  readonly capacity: number;
  readonly rates: RateSnapshot;
  readonly profiles: readonly ProfileStatus[];
  /** Changes on every update, for memoisation. */
  readonly version: number;
}

const EMPTY_RATES: RateSnapshot = { windowSeconds: 0, types: [], handlers: [] };

/** Subscribes to ticks and keeps a bounded list of summaries. */
export function useCapture(client: InspectorClient): CaptureView {
  const events = useRef<EventSummary[]>([]);
  const lastSeq = useRef(-1);
  const [view, setView] = useState<CaptureView>({ events: [], dropped: 0, missed: 0, total: 0, telemetryDropped: 0, capacity: 50_000, rates: EMPTY_RATES, profiles: [], version: 0 });

  useEffect(() => {
    let capacity = 50_000;
    let missed = 0;
    let cancelled = false;
    const load = async (): Promise<void> => {
      const snapshot = await client.request('capture.snapshot', {});
      if (cancelled) return;
      capacity = snapshot.capacity;
      events.current = [...snapshot.events];
      lastSeq.current = snapshot.events.at(-1)?.seq ?? lastSeq.current;
      const profiles = await client.request('profiles.list', {});
      setView((previous) => ({ ...previous, events: events.current, dropped: snapshot.dropped, capacity, profiles, version: previous.version + 1 }));
    };
    void load();
    const stop = client.onTick((tick) => {
      if (tick.reset) {
        events.current = [];
        lastSeq.current = -1;
        missed = 0;
      }
      const list = events.current;
      for (const event of tick.events) {
        if (event.seq <= lastSeq.current) continue;
        if (lastSeq.current >= 0 && event.seq > lastSeq.current + 1) missed += event.seq - lastSeq.current - 1;
        lastSeq.current = event.seq;
        list.push(event);
      }
      if (list.length > capacity) list.splice(0, list.length - capacity);
      // A new array identity once per tick, so React sees the change.
      events.current = list.slice();
      setView((previous) => ({
        events: events.current,
        dropped: tick.dropped,
        missed,
        total: tick.total,
        telemetryDropped: tick.telemetryDropped,
        capacity,
        rates: tick.rates,
        profiles: tick.profiles,
        version: previous.version + 1,
      }));
    });
    return () => {
      cancelled = true;
      stop();
    };
  }, [client]);
  return view;
}

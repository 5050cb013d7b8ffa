import { Buffer } from 'node:buffer';

import { readDeadLetterRecord, STRUCTURED_CONTENT_TYPE, type CloudEvent } from '@cloudbus/core';

import type { EventDetail, EventSummary } from '../shared/captured-event.js';
import type { CaptureSnapshot } from '../shared/channel-contract.js';
import type { DeadLetterEntry, DeadLetterGroup } from '../shared/dead-letter-entry.js';
import type { FlowGraph } from '../shared/flow-graph.js';
import type { RateSnapshot } from '../shared/rates.js';
import { compareText } from './compare.js';
import type { TelemetryRecord } from '../shared/telemetry-record.js';
import { buildFlowGraph, REPLAY_EXTENSION } from './build-flow-graph.js';
import type { CapturedMessage, TappedMessage } from './captured-message.js';
import { bodyForm, decodeTappedMessage } from './decode-tapped-message.js';
import { RateCounter } from './rate-counter.js';
import { RingBuffer } from './ring-buffer.js';

/** Options of the capture. */
export interface CaptureStoreOptions {
  /**
   * Messages kept; the oldest are dropped (and counted) beyond it.
   * @default 50_000
   */
  readonly capacity?: number;
  /**
   * Telemetry records kept for flows and lanes.
   * @default 200_000
   */
  readonly telemetryCapacity?: number;
  /**
   * Dead letters kept for the Dead letters view, apart from the capture so a busy stream does
   * not push them out.
   * @default 10_000
   */
  readonly deadLetterCapacity?: number;
  /** Clock, ms since the epoch. @default Date.now */
  readonly now?: () => number;
}

const PROFILE_IMPORT = 'import';

/**
 * Everything captured: a bounded ring buffer of messages (seq numbers contiguous, so lookup by seq
 * is O(1)), telemetry records, dead letters, replay links and rates. Summaries of new messages are
 * held until the next tick takes them.
 */
export class CaptureStore {
  readonly capacity: number;
  readonly #ring: RingBuffer<CapturedMessage>;
  readonly #telemetry: RingBuffer<TelemetryRecord>;
  readonly #deadLetters = new Map<number, CapturedMessage>();
  readonly #deadLetterKeys = new Set<string>();
  readonly #deadLetterCapacity: number;
  readonly #replays = new Map<number, string[]>();
  readonly #replayedIds = new Set<string>();
  readonly #rates = new RateCounter();
  readonly #now: () => number;
  #pending: EventSummary[] = [];
  #nextSeq = 0;
  #total = 0;
  #reset = false;
  #telemetryDropped = 0;

  constructor(options: CaptureStoreOptions = {}) {
    this.capacity = options.capacity ?? 50_000;
    this.#ring = new RingBuffer(this.capacity);
    this.#telemetry = new RingBuffer(options.telemetryCapacity ?? 200_000);
    this.#deadLetterCapacity = options.deadLetterCapacity ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  get total(): number {
    return this.#total;
  }

  /** Telemetry records the buses reported dropping before they could send them. */
  get telemetryDropped(): number {
    return this.#telemetryDropped;
  }

  /** Messages dropped from the capture because it was full. */
  get dropped(): number {
    return this.#ring.dropped;
  }

  /** Decodes and keeps one tapped message; returns it. */
  add(profileId: string, tapped: TappedMessage): CapturedMessage {
    const now = this.#now();
    const captured = decodeTappedMessage(tapped, this.#nextSeq++, profileId, now);
    this.#total++;
    this.#ring.push(captured);
    const summary = captured.summary;
    this.#pending.push(summary);
    if (this.#pending.length > 2 * this.capacity) this.#pending.splice(0, this.#pending.length - this.capacity);
    if (summary.kind === 'telemetry') {
      this.#telemetryDropped += captured.telemetryDropped;
      for (const record of captured.telemetry ?? []) {
        this.#telemetry.push(record);
        this.#rates.countTelemetry(record);
      }
    } else {
      this.#rates.countEvent(summary.type === '' ? '(not a CloudEvent)' : summary.type, now);
    }
    if (summary.kind === 'dead-letter') this.#keepDeadLetter(captured);
    return captured;
  }

  #keepDeadLetter(captured: CapturedMessage): void {
    const s = captured.summary;
    const key = `${s.id}|${s.deadLetterHandler}|${captured.cloudEvent?.['deadlettertime'] ?? captured.wire.headers['deadlettertime'] ?? ''}`;
    if (this.#deadLetterKeys.has(key)) return;
    this.#deadLetterKeys.add(key);
    this.#deadLetters.set(s.seq, captured);
    if (this.#deadLetters.size > this.#deadLetterCapacity) {
      const oldest = this.#deadLetters.keys().next().value as number;
      this.#deadLetters.delete(oldest);
    }
  }

  /** Summaries captured since the last call, and whether the capture was reset meanwhile. */
  takePending(): { readonly events: EventSummary[]; readonly reset: boolean } {
    const events = this.#pending;
    const reset = this.#reset;
    this.#pending = [];
    this.#reset = false;
    return { events, reset };
  }

  /** A captured message by sequence number; dead letters stay findable after the ring dropped them. */
  get(seq: number): CapturedMessage | undefined {
    const first = this.#ring.at(0);
    if (first !== undefined) {
      const found = this.#ring.at(seq - first.summary.seq);
      if (found !== undefined && found.summary.seq === seq) return found;
    }
    return this.#deadLetters.get(seq);
  }

  detail(seq: number): EventDetail | null {
    const captured = this.get(seq);
    if (captured === undefined) return null;
    const attributes: Record<string, string | number | boolean> = {};
    let data: unknown;
    if (captured.cloudEvent !== undefined) {
      for (const [name, value] of Object.entries(captured.cloudEvent)) {
        if (name === 'data') continue;
        if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') attributes[name] = value;
      }
      const raw = captured.cloudEvent.data;
      data = raw instanceof Uint8Array ? { base64: Buffer.from(raw).toString('base64') } : raw;
    }
    return {
      summary: captured.summary,
      attributes,
      data: data ?? null,
      wire: { ...captured.wire, ...bodyForm(captured.body) },
      error: captured.error,
      telemetry: captured.telemetry,
    };
  }

  snapshot(): CaptureSnapshot {
    const events: EventSummary[] = [];
    for (const captured of this.#ring) events.push(captured.summary);
    return { events, dropped: this.dropped, capacity: this.capacity };
  }

  rates(): RateSnapshot {
    return this.#rates.snapshot(this.#now());
  }

  flow(correlationId: string): FlowGraph {
    const events: { summary: EventSummary; replayed: boolean }[] = [];
    for (const captured of this.#ring) {
      const summary = captured.summary;
      if (summary.kind !== 'event' || summary.correlationId !== correlationId) continue;
      events.push({ summary, replayed: this.#replayedIds.has(summary.id) || captured.cloudEvent?.[REPLAY_EXTENSION] !== undefined });
    }
    return buildFlowGraph(correlationId, events, this.#telemetry);
  }

  deadLetterGroups(): DeadLetterGroup[] {
    const groups = new Map<string, { handler: string; reason: string; entries: DeadLetterEntry[] }>();
    for (const captured of this.#deadLetters.values()) {
      const s = captured.summary;
      const record = readDeadLetterRecord(captured.cloudEvent ?? captured.wire.headers);
      const key = `${s.deadLetterHandler}\u0000${s.deadLetterReason}`;
      let group = groups.get(key);
      if (group === undefined) groups.set(key, (group = { handler: s.deadLetterHandler, reason: s.deadLetterReason, entries: [] }));
      group.entries.push({
        seq: s.seq,
        profileId: s.profileId,
        id: s.id,
        type: s.type,
        handler: s.deadLetterHandler,
        reason: s.deadLetterReason,
        error: record === undefined ? '' : `${record.error.type}: ${record.error.message}`,
        attempts: record?.attempts ?? 0,
        destination: captured.originalDestination ?? '',
        time: record?.time ?? '',
        correlationId: s.correlationId,
        replays: this.#replays.get(s.seq) ?? [],
      });
    }
    return [...groups.values()].sort((a, b) => compareText(a.handler, b.handler) || compareText(a.reason, b.reason));
  }

  /** Records that the dead letter `seq` was republished as event `id`. */
  markReplayed(seq: number, id: string): void {
    let ids = this.#replays.get(seq);
    if (ids === undefined) this.#replays.set(seq, (ids = []));
    ids.push(id);
    this.#replayedIds.add(id);
  }

  /** The capture as CloudEvents in structured JSON form (an `application/cloudevents-batch` body). */
  exportBatch(): Record<string, unknown>[] {
    const batch: Record<string, unknown>[] = [];
    for (const captured of this.#ring) {
      if (captured.cloudEvent !== undefined) batch.push(structured(captured.cloudEvent));
    }
    for (const captured of this.#deadLetters.values()) {
      if (captured.cloudEvent !== undefined && !this.#inRing(captured)) {
        batch.push(structured(captured.cloudEvent));
      }
    }
    return batch;
  }

  #inRing(captured: CapturedMessage): boolean {
    const first = this.#ring.at(0);
    return first !== undefined && captured.summary.seq >= first.summary.seq;
  }

  /** Replaces the capture with a batch exported before; items that are not CloudEvents are counted, not kept. */
  importBatch(items: readonly unknown[]): { imported: number; rejected: number } {
    this.clear();
    let imported = 0;
    let rejected = 0;
    for (const item of items) {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) {
        rejected++;
        continue;
      }
      const body = Buffer.from(JSON.stringify(item), 'utf8');
      const tapped: TappedMessage = {
        message: { headers: {}, contentType: STRUCTURED_CONTENT_TYPE, body },
        wire: { destination: PROFILE_IMPORT, headers: {}, contentType: STRUCTURED_CONTENT_TYPE },
        deadLetter: (item as Record<string, unknown>)['deadletterreason'] !== undefined,
      };
      const captured = this.add(PROFILE_IMPORT, tapped);
      if (captured.cloudEvent === undefined) rejected++;
      else imported++;
    }
    return { imported, rejected };
  }

  clear(): void {
    this.#ring.clear();
    this.#telemetry.clear();
    this.#deadLetters.clear();
    this.#deadLetterKeys.clear();
    this.#replays.clear();
    this.#replayedIds.clear();
    this.#rates.clear();
    this.#pending = [];
    this.#total = 0;
    this.#telemetryDropped = 0;
    this.#reset = true;
  }
}

function structured(event: CloudEvent): Record<string, unknown> {
  const { data, ...attributes } = event;
  const json: Record<string, unknown> = { ...attributes };
  if (data instanceof Uint8Array) json['data_base64'] = Buffer.from(data).toString('base64');
  else if (data !== undefined) json['data'] = data;
  return json;
}

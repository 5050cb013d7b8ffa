import { retry } from '@cloudbus/core';

/**
 * Each handler's retry policy. Short delays: a pizzeria cannot wait for minutes, and the
 * failures they cover (a busy database, a gateway timeout) pass quickly; after the last attempt
 * the event is dead-lettered and the other handlers are not affected.
 */
export const RetryPolicies = {
  /** Reserving stock and queueing the ticket: worth insisting. */
  kitchen: retry.exponential({ attempts: 6, initialDelayMs: 100, maxDelayMs: 5_000 }),
  /** Device reports applied to the order (retries a report that arrived before the one it follows). */
  kitchenReports: retry.exponential({ attempts: 8, initialDelayMs: 100, maxDelayMs: 2_000 }),
  /** SMS gateway: a few quick tries, then dead letter; an SMS late by minutes is useless. */
  sms: retry.exponential({ attempts: 4, initialDelayMs: 200, maxDelayMs: 1_000, jitter: 0 }),
  /** E-mail: more patient. */
  email: retry.exponential({ attempts: 5, initialDelayMs: 500, maxDelayMs: 10_000 }),
  /** Read models: retried until the database answers. */
  projection: retry.exponential({ attempts: 8, initialDelayMs: 100, maxDelayMs: 5_000 }),
} as const;

/**
 * Where `bus.cancelScheduled(id)` leaves its mark, checked when a schedule comes due: brokers
 * cannot take back a message they hold, so a cancelled schedule is dropped at delivery instead.
 *
 * Share one durable implementation between every instance of a service (a table in its
 * database) for a cancellation that holds across instances and restarts; the default,
 * {@link MemoryScheduleCancellations}, lives in the process.
 */
export interface ScheduleCancellations {
  /** Marks the schedule cancelled. Idempotent. */
  cancel(scheduleId: string): Promise<void>;
  /** The schedule was cancelled. */
  isCancelled(scheduleId: string): Promise<boolean>;
  /** The schedule came due (and was dropped): its mark is no longer needed. */
  forget(scheduleId: string): Promise<void>;
}

/**
 * Cancellation marks in this process: exact for the schedules this process fires, lost on
 * restart and not seen by other instances of the service.
 */
export class MemoryScheduleCancellations implements ScheduleCancellations {
  readonly #cancelled = new Set<string>();

  cancel(scheduleId: string): Promise<void> {
    this.#cancelled.add(scheduleId);
    return Promise.resolve();
  }

  isCancelled(scheduleId: string): Promise<boolean> {
    return Promise.resolve(this.#cancelled.has(scheduleId));
  }

  forget(scheduleId: string): Promise<void> {
    this.#cancelled.delete(scheduleId);
    return Promise.resolve();
  }
}

// Slots are shared through the global symbol registry, so two copies of this package in one
// process still hand out distinct client ids.
const SLOTS_KEY = Symbol.for('cloudbus.mqtt.instanceSlots');
const slots: Map<string, Set<number>> = ((globalThis as Record<symbol, unknown>)[SLOTS_KEY] ??= new Map()) as Map<string, Set<number>>;

/**
 * Takes the lowest slot of `key` not held in this process, at or after `from`. A subscription's
 * client id ends with its slot: the first consumer of a subscription in a process always gets
 * slot 0, so a process that restarts (or a bus started again after stop) resumes the persistent
 * session of its predecessor and gets back the messages it left unacknowledged, while a second
 * consumer of the same subscription in the same process gets a session of its own.
 */
export function takeSlot(key: string, from = 0): number {
  let taken = slots.get(key);
  if (taken === undefined) slots.set(key, (taken = new Set()));
  let slot = from;
  while (taken.has(slot)) slot++;
  taken.add(slot);
  return slot;
}

/** Gives a slot back. */
export function releaseSlot(key: string, slot: number): void {
  const taken = slots.get(key);
  if (taken === undefined) return;
  taken.delete(slot);
  if (taken.size === 0) slots.delete(key);
}

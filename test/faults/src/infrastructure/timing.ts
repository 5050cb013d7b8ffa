/** Quick mode runs each case once with fixed timing; long mode (FAULTS_LONG=1) repeats it with random timing. */
export const LONG = process.env['FAULTS_LONG'] === '1';

/** How many times each case runs: 1, or FAULTS_REPEAT (default 5) in long mode. */
export function repetitions(): number {
  if (!LONG) return 1;
  const repeat = Number(process.env['FAULTS_REPEAT'] ?? '5');
  return Number.isSafeInteger(repeat) && repeat > 0 ? repeat : 5;
}

/** `fixed` in quick mode; a random integer in [min, max] in long mode. */
export function timing(fixed: number, min: number, max: number): number {
  return LONG ? min + Math.floor(Math.random() * (max - min + 1)) : fixed;
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

import { InvalidMoneyError } from './invalid-money-error.js';

const DECIMAL = /^(0|[1-9]\d{0,12})(?:\.(\d{1,2}))?$/;

/**
 * Amounts of money as whole cents, so that sums are exact. Events and the API carry them as
 * decimal strings with two places (`"31.98"`), never as binary floating point numbers.
 */
export const Money = {
  /** Parses a non-negative decimal string with at most two places into cents. */
  toCents(amount: string): number {
    const match = DECIMAL.exec(amount);
    if (match === null) throw new InvalidMoneyError(amount);
    return Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0'));
  },
  /** Formats cents as a decimal string with two places. */
  format(cents: number): string {
    const sign = cents < 0 ? '-' : '';
    const absolute = Math.abs(cents);
    return `${sign}${Math.trunc(absolute / 100)}.${String(absolute % 100).padStart(2, '0')}`;
  },
} as const;

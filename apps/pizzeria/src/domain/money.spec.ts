import { describe, expect, it } from 'vitest';

import { InvalidMoneyError } from './invalid-money-error.js';
import { Money } from './money.js';

describe('Money', () => {
  it('adds decimal amounts exactly, where binary floating point would not', () => {
    const cents = Money.toCents('0.10') + Money.toCents('0.20');
    expect(Money.format(cents)).toBe('0.30');
  });

  it('reads one or two decimal places and whole amounts', () => {
    expect(Money.toCents('9.5')).toBe(950);
    expect(Money.toCents('12')).toBe(1200);
    expect(Money.format(5)).toBe('0.05');
    expect(Money.format(123_456)).toBe('1234.56');
  });

  it('refuses what is not an amount', () => {
    for (const bad of ['', '1.234', '-1', '1e3', '01.00', 'abc']) expect(() => Money.toCents(bad)).toThrow(InvalidMoneyError);
  });
});

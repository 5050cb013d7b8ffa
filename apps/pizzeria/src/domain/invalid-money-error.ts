/** An amount is not a non-negative decimal string with at most two places. */
export class InvalidMoneyError extends Error {
  override name = 'InvalidMoneyError';
  constructor(readonly amount: string) {
    super(`'${amount}' is not an amount of money: use a decimal string such as "12.50".`);
  }
}

/** One line of an order, as events carry it. */
export interface OrderLine {
  readonly menuItemId: string;
  readonly name: string;
  readonly quantity: number;
  /** Price of one portion, a decimal string. */
  readonly unitPrice: string;
}

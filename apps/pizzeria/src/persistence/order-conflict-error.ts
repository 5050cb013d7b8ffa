/** The order changed since it was loaded (another request or instance saved it first): reload and retry. */
export class OrderConflictError extends Error {
  override name = 'OrderConflictError';
  constructor(
    readonly orderId: string,
    readonly expectedVersion: number,
  ) {
    super(`Order ${orderId} was changed by someone else since version ${expectedVersion}: reload it and try again.`);
  }
}

/** A kitchen report arrived before the report it follows (ready before cooking started): retried. */
export class ReportOutOfOrderError extends Error {
  override name = 'ReportOutOfOrderError';
}

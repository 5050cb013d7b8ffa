/** Events per second per type, and handler failures, as the Rates view shows them. */
export interface RateSnapshot {
  /** Window the rates are averaged over, in seconds. */
  readonly windowSeconds: number;
  readonly types: readonly { readonly type: string; readonly perSecond: number; readonly total: number }[];
  readonly handlers: readonly {
    readonly handler: string;
    readonly succeeded: number;
    readonly failed: number;
    readonly deadLettered: number;
  }[];
}

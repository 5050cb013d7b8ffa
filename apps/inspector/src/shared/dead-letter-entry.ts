/** One dead letter in the Dead letters view. */
export interface DeadLetterEntry {
  readonly seq: number;
  readonly profileId: string;
  readonly id: string;
  readonly type: string;
  readonly handler: string;
  readonly reason: string;
  readonly error: string;
  readonly attempts: number;
  /** Where the original was published (routing key, subject or topic). */
  readonly destination: string;
  readonly time: string;
  readonly correlationId: string;
  /** Ids of the events the inspector republished from this dead letter. */
  readonly replays: readonly string[];
}

/** Dead letters of one handler with one reason. */
export interface DeadLetterGroup {
  readonly handler: string;
  readonly reason: string;
  readonly entries: readonly DeadLetterEntry[];
}

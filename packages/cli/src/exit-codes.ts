/**
 * What the `cloudbus` command's exit code means. Scripts can rely on these.
 */
export const ExitCode = {
  /** Done. */
  ok: 0,
  /** The operation failed, fully or in part: a publish or replay the broker did not accept, an unexpected error. */
  failed: 1,
  /** Bad command line: an unknown command or option, a missing argument, invalid JSON, a bad date or reason. */
  usage: 2,
  /** A dead-letter id matches no stored dead letter; `prune` found no subscription of the service. */
  notFound: 3,
  /** The broker could not be reached (within `--timeout`), or refused the login. */
  unreachable: 4,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

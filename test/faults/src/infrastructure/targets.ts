import { brokerUrl } from '@cloudbus/test/brokers';

import type { FaultTarget } from './fault-run.js';

/** A place a case runs: the target and its URL (undefined for memory, or when the broker is missing). */
export interface TargetEntry {
  readonly target: FaultTarget;
  readonly url: string | undefined;
  /** True when the case cannot run here (broker missing, or left out by FAULTS_TARGETS). */
  readonly skip: boolean;
}

/**
 * The targets a case applies to, minus those left out by `FAULTS_TARGETS` (comma-separated, e.g.
 * `memory,rabbitmq`) and brokers not found.
 */
export function faultTargets(applies: readonly FaultTarget[]): TargetEntry[] {
  const chosen = process.env['FAULTS_TARGETS']?.split(',').map((t) => t.trim());
  return applies.map((target) => {
    const url = target === 'memory' ? undefined : brokerUrl(target);
    const excluded = chosen !== undefined && !chosen.includes(target);
    return { target, url, skip: excluded || (target !== 'memory' && url === undefined) };
  });
}

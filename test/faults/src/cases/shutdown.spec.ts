import { afterEach, describe, expect, it } from 'vitest';

import { FaultRun } from '../infrastructure/fault-run.js';
import { faultTargets } from '../infrastructure/targets.js';
import { repetitions, sleep, timing } from '../infrastructure/timing.js';

/** Fault 11: stop during in-flight work, concurrent stop calls, stop with unconfirmed publishes. */
describe.each(faultTargets(['memory', 'rabbitmq', 'nats', 'mqtt']))('shutdown races on $target', ({ target, url, skip }) => {
  let run: FaultRun | undefined;
  afterEach(async () => {
    await run?.dispose();
    run = undefined;
  });

  it.skipIf(skip)('a consumer stopped with handlers in flight, its drain timeout shorter than they take, loses nothing', async () => {
    for (let repeat = 0; repeat < repetitions(); repeat++) {
      run = await FaultRun.create({ fault: '11a. stop during in-flight work', target, url, concurrency: 8 });
      const first = await run.startConsumer('a', { delayMs: 1_500, drainTimeoutMs: timing(500, 0, 3_000) });
      const published = await run.publish(40, { batchSize: 20 });
      expect(published.rejected).toBe(0);
      await sleep(timing(2_000, 200, 4_000));
      await first.stop();
      await run.startConsumer('b', { delayMs: 20 });
      await run.settle([run.recorder], { timeoutMs: 120_000, quietMs: 2_000 });
      const result = await run.check();
      expect(result.violations).toEqual([]);
      await run?.dispose();
      run = undefined;
    }
  });

  it.skipIf(skip)('concurrent stop calls share one shutdown, and stop after stop resolves: stopping is idempotent', async () => {
    run = await FaultRun.create({ fault: '11b. concurrent stop calls', target, url });
    const bus = await run.publisher();
    const stops = [bus.stop(), bus.stop(), bus.stop()];
    expect(stops[1]).toBe(stops[0]);
    await Promise.all(stops);
    expect(bus.state).toBe('stopped');
    await expect(bus.stop()).resolves.toBeUndefined();
    expect(bus.state).toBe('stopped');
  });

  it.skipIf(skip || target === 'memory')('stop with publishes unconfirmed (broker unreachable) reports each one to its caller, and loses no confirmed event', async () => {
    for (let repeat = 0; repeat < repetitions(); repeat++) {
      run = await FaultRun.create({ fault: '11c. stop with unconfirmed publishes', target, url, proxy: true });
      const current = run;
      await current.startConsumer('a');
      await current.publish(timing(50, 10, 200), { batchSize: 25 });
      current.proxy!.blackhole();
      const bus = await current.publisher();
      const pending = [current.publish(50, { batchSize: 10 }), current.publish(20, { batchSize: 20 })];
      await sleep(500);
      const stopped = bus.stop({ drainTimeoutMs: 1_000 }).then(
        () => 'stopped',
        (error: unknown) => `stop rejected: ${String(error)}`,
      );
      // The network comes back 5 s later (the proxy resets the connections it had swallowed).
      setTimeout(() => current.proxy!.heal(), timing(5_000, 1_000, 10_000));
      const reports = await Promise.all(pending);
      expect(reports.length).toBe(2);
      // Liveness, not speed: once the network is back, stop() must settle (60 s is generous).
      const outcome = await Promise.race([stopped, sleep(65_000).then(() => 'stop() still pending 60 s after the network came back')]);
      await current.settle([current.recorder], { timeoutMs: 120_000, quietMs: 2_000 });
      const result = await current.check([current.recorder], { deadLetters: false, extraViolations: outcome === 'stopped' ? [] : [outcome] });
      expect(outcome).toBe('stopped');
      expect(result.violations).toEqual([]);
      await current.dispose();
      run = undefined;
    }
  });
});

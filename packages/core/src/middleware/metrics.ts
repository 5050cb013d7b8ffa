import { metrics as otelMetrics, type Meter } from '@opentelemetry/api';

import type { Middleware } from './middleware.js';

/** Options of {@link metrics}. */
export interface MetricsOptions {
  /** @default the global OpenTelemetry meter `cloudbus` (a no-op until the app registers an SDK) */
  readonly meter?: Meter;
}

/**
 * Records OpenTelemetry metrics: `cloudbus.events.published` (by type),
 * `cloudbus.handler.calls` (by handler, type and outcome) and `cloudbus.handler.duration` (ms).
 */
export function metrics(options: MetricsOptions = {}): Middleware {
  const meter = options.meter ?? otelMetrics.getMeter('cloudbus');
  const published = meter.createCounter('cloudbus.events.published', { description: 'Events accepted by the transport' });
  const calls = meter.createCounter('cloudbus.handler.calls', { description: 'Handler calls, by outcome' });
  const duration = meter.createHistogram('cloudbus.handler.duration', { description: 'Handler duration', unit: 'ms' });
  return {
    name: 'metrics',
    async publish(context, next) {
      await next();
      for (const { cloudEvent } of context.events) published.add(1, { 'cloudevents.event_type': cloudEvent.type });
    },
    async consume(context, next) {
      const started = performance.now();
      const attributes = { 'cloudbus.handler': context.handler, 'cloudevents.event_type': context.cloudEvent.type };
      try {
        await next();
        calls.add(1, { ...attributes, outcome: 'success' });
      } catch (error) {
        calls.add(1, { ...attributes, outcome: 'failure' });
        throw error;
      } finally {
        duration.record(performance.now() - started, attributes);
      }
    },
  };
}

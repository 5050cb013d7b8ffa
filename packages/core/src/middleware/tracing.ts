import {
  context as otelContext,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Tracer,
} from '@opentelemetry/api';

import type { Middleware } from './middleware.js';

/** Options of {@link tracing}. */
export interface TracingOptions {
  /** @default the global OpenTelemetry tracer `cloudbus` (a no-op until the app registers an SDK) */
  readonly tracer?: Tracer;
}

/**
 * OpenTelemetry spans per the messaging conventions: a producer span per published event whose
 * context goes out as the `traceparent` / `tracestate` extensions (CloudEvents distributed
 * tracing), and a consumer span per handler call, child of the received trace context.
 */
export function tracing(options: TracingOptions = {}): Middleware {
  const tracer = options.tracer ?? trace.getTracer('cloudbus');
  return {
    name: 'tracing',
    async publish(context, next) {
      const spans = context.events.map(({ cloudEvent }) => {
        const span = tracer.startSpan(`publish ${cloudEvent.type}`, {
          kind: SpanKind.PRODUCER,
          attributes: { 'messaging.operation.type': 'publish', 'messaging.message.id': cloudEvent.id, 'cloudevents.event_type': cloudEvent.type },
        });
        const carrier: Record<string, string> = {};
        propagation.inject(trace.setSpan(otelContext.active(), span), carrier);
        if (carrier['traceparent'] !== undefined) cloudEvent.traceparent = carrier['traceparent'];
        if (carrier['tracestate'] !== undefined) cloudEvent.tracestate = carrier['tracestate'];
        return span;
      });
      try {
        await next();
      } catch (error) {
        for (const span of spans) span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
        throw error;
      } finally {
        for (const span of spans) span.end();
      }
    },
    async consume(context, next) {
      const { cloudEvent } = context;
      const carrier: Record<string, string> = {};
      if (cloudEvent.traceparent !== undefined) carrier['traceparent'] = String(cloudEvent.traceparent);
      if (cloudEvent.tracestate !== undefined) carrier['tracestate'] = String(cloudEvent.tracestate);
      const parent = propagation.extract(otelContext.active(), carrier);
      const span = tracer.startSpan(
        `process ${cloudEvent.type}`,
        {
          kind: SpanKind.CONSUMER,
          attributes: {
            'messaging.operation.type': 'process',
            'messaging.message.id': cloudEvent.id,
            'messaging.consumer.group.name': context.handler,
            'cloudevents.event_type': cloudEvent.type,
            'cloudbus.attempt': context.attempt,
          },
        },
        parent,
      );
      try {
        await otelContext.with(trace.setSpan(parent, span), next);
      } catch (error) {
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
        throw error;
      } finally {
        span.end();
      }
    },
  };
}

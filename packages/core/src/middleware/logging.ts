import type { Logger } from '../logger.js';
import { errorRecordOf } from '../dead-letter/dead-letter-record.js';
import type { Middleware } from './middleware.js';

/** Options of {@link logging}. */
export interface LoggingOptions {
  readonly logger: Logger;
}

/**
 * Logs every publish and every handler call at debug level, and handler failures with event id,
 * type, correlation id, handler, attempt and duration: one that will be retried at info with the
 * delay (`handler failed, retry scheduled`), a final one at warn with the dead-letter reason
 * (`handler failed, dead-lettering`).
 */
export function logging(options: LoggingOptions): Middleware {
  const logger = options.logger;
  return {
    name: 'logging',
    async publish(context, next) {
      await next();
      for (const { cloudEvent } of context.events) {
        logger.debug('published', { eventId: cloudEvent.id, type: cloudEvent.type, correlationId: cloudEvent.correlationid });
      }
    },
    async consume(context, next) {
      const fields = {
        handler: context.handler,
        eventId: context.cloudEvent.id,
        type: context.cloudEvent.type,
        correlationId: context.cloudEvent.correlationid,
        attempt: context.attempt,
      };
      const started = performance.now();
      try {
        await next();
        logger.debug('handled', { ...fields, durationMs: performance.now() - started });
      } catch (error) {
        const outcome = context.outcomeOf(error);
        const failed = { ...fields, durationMs: performance.now() - started, error: errorRecordOf(error) };
        if (outcome.retry) logger.info('handler failed, retry scheduled', { ...failed, retryInMs: outcome.delayMs });
        else logger.warn('handler failed, dead-lettering', { ...failed, reason: outcome.reason });
        throw error;
      }
    },
  };
}

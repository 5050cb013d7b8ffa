import { ConfigurationError } from '@cloudbus/core/transport';

import { fitsShortString } from './rabbitmq-binding.js';

const SPECIAL = /[%*#]/;
const SPECIAL_GLOBAL = /[%*#]/g;
const ESCAPES: Readonly<Record<string, string>> = { '%': '%25', '*': '%2A', '#': '%23' };

/**
 * The routing key of a CloudEvent type: the type itself (reverse-DNS types already read as topic
 * words, `com.mariopizzeria.order.placed`), with the three characters that would be wildcards or
 * ambiguous in a binding key percent-encoded (`%` to `%25`, `*` to `%2A`, `#` to `%23`), so every
 * type gets its own key and binds exactly. Throws `ConfigurationError` for a type longer than an
 * AMQP routing key allows (255 bytes).
 */
export function routingKeyOf(type: string): string {
  const key = SPECIAL.test(type) ? type.replace(SPECIAL_GLOBAL, (character) => ESCAPES[character]!) : type;
  if (!fitsShortString(key)) {
    throw new ConfigurationError(`rabbitmq transport: event type '${type.slice(0, 60)}…' is longer than an AMQP routing key allows (255 bytes); use a shorter type.`);
  }
  return key;
}

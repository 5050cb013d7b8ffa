import { ConfigurationError } from '../errors.js';
import { eventTypeOf, type EventClass, type EventTypeMetadata } from '../events/event-type.js';
import type { StandardSchemaV1 } from '../events/standard-schema.js';
import { handlerNameOf, handlersOf, type HandlerClass } from '../handlers/event-handler.js';

/** Options of {@link asyncApiDocument}. */
export interface AsyncApiOptions {
  /** The service: the document's title, and the prefix of its subscriptions. */
  readonly service: string;
  /** @default '1.0.0' */
  readonly version?: string;
  readonly description?: string;
  /** The transport the channels are described for. @default 'memory' */
  readonly transport?: 'memory' | 'rabbitmq' | 'nats' | 'mqtt';
  /** The broker, described as the document's server. @default none */
  readonly url?: string;
  /**
   * The transport's naming prefix: the RabbitMQ exchange, the NATS subject prefix or the MQTT topic
   * prefix. @default each transport's default ('cloudbus.events', 'cloudbus', 'cloudbus')
   */
  readonly prefix?: string;
  /** Handler classes: each `@EventHandler` class and `@On` method is a `receive` operation. */
  readonly handlers?: readonly HandlerClass[];
  /** Event classes the service publishes: each is a `send` operation. */
  readonly publishes?: readonly EventClass[];
}

/** An AsyncAPI 3.0 document, as plain JSON. */
export type AsyncApiDocument = Record<string, unknown> & { readonly asyncapi: '3.0.0' };

/** The CloudEvents attributes, as message headers (binary content mode). */
function cloudEventHeaders(type: string, dataSchema: string | undefined): Record<string, unknown> {
  const text = { type: 'string' };
  return {
    type: 'object',
    description: "CloudEvents 1.0 attributes and cloudbus's extensions, carried as headers per the transport's CloudEvents binding (binary mode).",
    required: ['specversion', 'id', 'source', 'type'],
    properties: {
      specversion: { type: 'string', const: '1.0' },
      id: text,
      source: { type: 'string', format: 'uri-reference' },
      type: { type: 'string', const: type },
      subject: text,
      time: { type: 'string', format: 'date-time' },
      datacontenttype: text,
      ...(dataSchema === undefined ? {} : { dataschema: { type: 'string', const: dataSchema } }),
      dataversion: { type: 'integer', minimum: 1 },
      correlationid: text,
      causationid: text,
      traceparent: text,
      tracestate: text,
    },
  };
}

/** The JSON Schema a schema library can produce for the data, when it can. */
function jsonSchemaOf(schema: StandardSchemaV1 | undefined): Record<string, unknown> | undefined {
  if (schema === undefined) return undefined;
  const standard = schema['~standard'] as { jsonSchema?: { input?: (options: { target: string }) => unknown } };
  const producers: (() => unknown)[] = [
    () => standard.jsonSchema?.input?.({ target: 'draft-07' }),
    () => (schema as { toJsonSchema?: () => unknown }).toJsonSchema?.(),
    () => (schema as { toJSONSchema?: () => unknown }).toJSONSchema?.(),
  ];
  for (const produce of producers) {
    try {
      const result = produce();
      if (result !== null && typeof result === 'object') return result as Record<string, unknown>;
    } catch {
      // This library cannot express the schema as JSON Schema: try the next way, else no payload schema.
    }
  }
  return undefined;
}

/** A component key: letters, digits, `.`, `-` and `_`. */
const key = (text: string): string => text.replace(/[^\w.-]/g, '_');

function channelOf(transport: NonNullable<AsyncApiOptions['transport']>, prefix: string | undefined, type: string): Record<string, unknown> {
  switch (transport) {
    case 'rabbitmq':
      return {
        address: type,
        description: `Routing key '${type}' on the topic exchange '${prefix ?? 'cloudbus.events'}'.`,
        bindings: { amqp: { is: 'routingKey', exchange: { name: prefix ?? 'cloudbus.events', type: 'topic', durable: true, autoDelete: false }, bindingVersion: '0.3.0' } },
      };
    case 'nats':
      return { address: `${prefix ?? 'cloudbus'}.${type}`, description: 'JetStream subject.' };
    case 'mqtt':
      return { address: `${prefix ?? 'cloudbus'}/${type.split('.').join('/')}`, description: 'MQTT topic.' };
    case 'memory':
      return { address: type, description: 'In-memory broker, by event type.' };
  }
}

const PROTOCOLS = { rabbitmq: 'amqp', nats: 'nats', mqtt: 'mqtt', memory: 'memory' } as const;

/**
 * Generates the AsyncAPI 3.0 document of a service from its own metadata: one channel per event
 * type on the transport (routing key, subject or topic), each event type a message with the
 * CloudEvents attributes as headers and its Standard Schema as the payload (as JSON Schema, where
 * the schema library can produce one), a `send` operation per published event class and a
 * `receive` operation per handler.
 *
 * @example
 * ```ts
 * const doc = asyncApiDocument({ service: 'kitchen', transport: 'rabbitmq', handlers: [Kitchen], publishes: [CookingStarted] });
 * writeFileSync('asyncapi.json', JSON.stringify(doc, null, 2));
 * ```
 */
export function asyncApiDocument(options: AsyncApiOptions): AsyncApiDocument {
  const transport = options.transport ?? 'memory';
  if (!(transport in PROTOCOLS)) throw new ConfigurationError(`asyncApiDocument: transport must be 'memory', 'rabbitmq', 'nats' or 'mqtt', got '${String(transport)}'.`);
  const channels: Record<string, Record<string, unknown>> = {};
  const messages: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};

  const messageOf = (eventClass: EventClass, where: string): { channel: string; message: string } => {
    const metadata: EventTypeMetadata | undefined = eventTypeOf(eventClass);
    if (metadata === undefined) throw new ConfigurationError(`asyncApiDocument: ${where} names ${eventClass.name}, which has no @EventType.`);
    const channel = key(metadata.type);
    const message = key(`${metadata.type}.v${metadata.version}`);
    if (messages[message] === undefined) {
      const payload = jsonSchemaOf(metadata.options.schema);
      messages[message] = {
        name: metadata.type,
        title: eventClass.name,
        summary: `${metadata.type}, data version ${metadata.version}`,
        contentType: metadata.options.contentType ?? 'application/json',
        headers: cloudEventHeaders(metadata.type, metadata.dataSchema),
        correlationId: { description: 'The flow the event belongs to.', location: '$message.header#/correlationid' },
        ...(payload === undefined ? {} : { payload: { schemaFormat: 'application/schema+json;version=draft-07', schema: payload } }),
      };
    }
    const existing = channels[channel] ?? (channels[channel] = { ...channelOf(transport, options.prefix, metadata.type), messages: {} });
    (existing['messages'] as Record<string, unknown>)[message] = { $ref: `#/components/messages/${message}` };
    return { channel, message };
  };

  for (const eventClass of options.publishes ?? []) {
    const { channel, message } = messageOf(eventClass, 'publishes');
    operations[key(`publish.${message}`)] = {
      action: 'send',
      summary: `${options.service} publishes ${eventClass.name}.`,
      channel: { $ref: `#/channels/${channel}` },
      messages: [{ $ref: `#/channels/${channel}/messages/${message}` }],
    };
  }
  for (const handlerClass of options.handlers ?? []) {
    const declarations = handlersOf(handlerClass);
    if (declarations.length === 0) throw new ConfigurationError(`asyncApiDocument: ${handlerClass.name} has no @EventHandler or @On declaration.`);
    for (const declaration of declarations) {
      const { channel, message } = messageOf(declaration.eventClass, handlerClass.name);
      const subscription = `${options.service}.${handlerNameOf(declaration)}`;
      operations[key(subscription)] = {
        action: 'receive',
        summary: `Handled by ${subscription}, on its own durable subscription.`,
        channel: { $ref: `#/channels/${channel}` },
        messages: [{ $ref: `#/channels/${channel}/messages/${message}` }],
      };
    }
  }

  let servers: Record<string, unknown> | undefined;
  if (options.url !== undefined) {
    const url = new URL(options.url.split(',')[0]!.trim());
    servers = {
      [transport]: {
        host: url.host,
        protocol: PROTOCOLS[transport],
        ...(url.pathname.length > 1 ? { pathname: url.pathname } : {}),
      },
    };
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: options.service,
      version: options.version ?? '1.0.0',
      ...(options.description === undefined ? {} : { description: options.description }),
    },
    defaultContentType: 'application/json',
    ...(servers === undefined ? {} : { servers }),
    channels,
    operations,
    components: { messages },
  };
}

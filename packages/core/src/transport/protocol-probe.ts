import { connect, type Socket } from 'node:net';

/** What a server said when probed by {@link probeProtocol}. */
export type ProbeResult =
  /** It sent bytes: `protocol` names them when they are recognised. */
  | { readonly outcome: 'answered'; readonly protocol: KnownProtocol | undefined }
  /** It closed the connection without sending a byte. */
  | { readonly outcome: 'closed' }
  /** It sent nothing within the time allowed. */
  | { readonly outcome: 'silent' }
  /** The TCP connection failed (refused, unreachable): the client's own error says it best. */
  | { readonly outcome: 'unreachable' };

/** Protocols a probe recognises from a server's first bytes. */
export type KnownProtocol = 'NATS' | 'AMQP' | 'MQTT' | 'HTTP' | 'TLS' | 'SSH';

/** Options of {@link probeProtocol}. */
export interface ProbeOptions {
  /**
   * How long to wait for a greeting the server sends unasked (NATS, SSH) before speaking first.
   * @default 300
   */
  readonly quietMs?: number;
  /**
   * Longest probe, in ms.
   * @default 2_000
   */
  readonly timeoutMs?: number;
}

/**
 * A minimal MQTT 3.1.1 CONNECT (clean session, empty client id, keep-alive 0): an MQTT broker
 * answers it with CONNACK, RabbitMQ with its AMQP protocol header, an HTTP server with a 400.
 */
const MQTT_CONNECT = Uint8Array.from([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x00, 0x00, 0x00]);

const ascii = (bytes: Uint8Array, length: number): string => String.fromCharCode(...bytes.subarray(0, length));

/** The protocol a server's first bytes belong to, when recognised. */
export function protocolOfGreeting(bytes: Uint8Array): KnownProtocol | undefined {
  const start = ascii(bytes, 5);
  if (start.startsWith('INFO ') || start.startsWith('-ERR')) return 'NATS';
  if (start.startsWith('AMQP')) return 'AMQP';
  if (start.startsWith('HTTP/')) return 'HTTP';
  if (start.startsWith('SSH-')) return 'SSH';
  if ((bytes[0] === 0x15 || bytes[0] === 0x16) && bytes[1] === 0x03) return 'TLS';
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return 'MQTT';
  return undefined;
}

/**
 * Finds out which protocol a TCP port speaks, for a clear error when a client meets the wrong
 * one (a NATS URL on the MQTT port, say): waits `quietMs` for a greeting the server sends unasked,
 * then sends an MQTT CONNECT, which MQTT brokers, RabbitMQ and HTTP servers all answer in their
 * own way. Never rejects; closes its connection before resolving.
 */
export function probeProtocol(host: string, port: number, options: ProbeOptions = {}): Promise<ProbeResult> {
  const quietMs = options.quietMs ?? 300;
  const timeoutMs = options.timeoutMs ?? 2_000;
  return new Promise<ProbeResult>((resolve) => {
    const socket: Socket = connect({ host, port });
    let connected = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (result: ProbeResult): void => {
      for (const timer of timers) clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.destroy();
      resolve(result);
    };
    timers.push(setTimeout(() => finish(connected ? { outcome: 'silent' } : { outcome: 'unreachable' }), timeoutMs));
    socket.on('connect', () => {
      connected = true;
      timers.push(setTimeout(() => socket.write(MQTT_CONNECT), quietMs));
    });
    socket.on('data', (chunk: Buffer) => finish({ outcome: 'answered', protocol: protocolOfGreeting(chunk) }));
    socket.on('error', () => finish(connected ? { outcome: 'closed' } : { outcome: 'unreachable' }));
    socket.on('close', () => finish(connected ? { outcome: 'closed' } : { outcome: 'unreachable' }));
  });
}

const PROTOCOL_NAMES: Readonly<Record<KnownProtocol, string>> = {
  NATS: 'a NATS server (port 4222 by default)',
  AMQP: 'an AMQP 0-9-1 broker such as RabbitMQ (port 5672 by default)',
  MQTT: 'an MQTT broker (port 1883 by default)',
  HTTP: 'an HTTP server',
  TLS: 'a TLS endpoint: use the TLS scheme (amqps://, tls://, mqtts://) or the plain port',
  SSH: 'an SSH server',
};

/**
 * Says why a probed port is not the `expected` protocol's, or undefined when it may well be
 * (or could not be reached, which the client's own error reports).
 */
export function foreignProtocol(result: ProbeResult, expected: KnownProtocol): string | undefined {
  switch (result.outcome) {
    case 'answered':
      if (result.protocol === expected) return undefined;
      return result.protocol === undefined ? 'it answered in a protocol that is not ' + expected : `it answered like ${PROTOCOL_NAMES[result.protocol]}`;
    case 'closed':
      return `it closed the connection without a word, where ${PROTOCOL_NAMES[expected]} answers`;
    case 'silent':
      return `it did not answer, where ${PROTOCOL_NAMES[expected]} answers at once`;
    case 'unreachable':
      return undefined;
  }
}

/**
 * Probes the host and port of `url` and says why it does not speak `expected`, or undefined.
 * For transports: call it when a connection fails (or alongside a slow one) to replace a timeout
 * or a parse error by "this port speaks MQTT".
 */
export async function foreignProtocolAt(url: string, defaultPort: number, expected: KnownProtocol, options?: ProbeOptions): Promise<string | undefined> {
  let host: string;
  let port: number;
  try {
    const parsed = new URL(url);
    host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
    port = parsed.port === '' ? defaultPort : Number(parsed.port);
  } catch {
    return undefined;
  }
  return foreignProtocol(await probeProtocol(host, port, options), expected);
}

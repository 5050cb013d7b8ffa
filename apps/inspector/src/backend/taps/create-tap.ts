import type { ConnectionProfile } from '../../shared/connection-profile.js';
import type { BrokerTap } from './broker-tap.js';
import { MqttTap } from './mqtt-tap.js';
import { NatsTap } from './nats-tap.js';
import { RabbitMqTap } from './rabbitmq-tap.js';

/** The tap of a profile, with the password (when there is one) put into the connection. */
export function createTap(profile: ConnectionProfile, password: string | undefined): BrokerTap {
  const url = new URL(profile.url);
  switch (profile.broker) {
    case 'rabbitmq':
      if (password !== undefined) url.password = encodeURIComponent(password);
      return new RabbitMqTap({ url: url.toString(), exchange: profile.exchange, deadLetterExchange: profile.deadLetterExchange });
    case 'nats':
      return new NatsTap({
        url: profile.url,
        user: url.username === '' ? undefined : decodeURIComponent(url.username),
        pass: password ?? (url.password === '' ? undefined : decodeURIComponent(url.password)),
        stream: profile.stream,
        deadLetterStream: profile.deadLetterStream,
        subjectPrefix: profile.subjectPrefix,
      });
    case 'mqtt': {
      const username = url.username === '' ? undefined : decodeURIComponent(url.username);
      const given = password ?? (url.password === '' ? undefined : decodeURIComponent(url.password));
      url.username = '';
      url.password = '';
      return new MqttTap({ url: url.toString(), username, password: given, topicPrefix: profile.topicPrefix });
    }
  }
}

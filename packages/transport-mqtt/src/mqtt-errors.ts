import { BrokerConnectionError, CloudbusError } from '@cloudbus/core';

/** The broker could not be reached, or refused the connection (bad credentials, refused client id). The message never holds credentials. */
export class MqttConnectError extends BrokerConnectionError {
  override name = 'MqttConnectError';
}

/**
 * A delivery was settled after the connection it arrived on was lost. The broker still holds the
 * message and sends it again (flagged DUP) on the resumed session, so it may be handled twice.
 */
export class MqttConnectionLostError extends CloudbusError {
  override name = 'MqttConnectionLostError';
}

/** A subscription was refused by the broker (SUBACK failure code), e.g. an ACL denies the topic. */
export class MqttSubscribeError extends CloudbusError {
  override name = 'MqttSubscribeError';
}

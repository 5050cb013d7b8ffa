import { BrokerConnectionError, CloudbusError, DeliveryLostError } from '@cloudbus/core/transport';

/** The broker could not be reached, or refused the connection (bad credentials, refused client id). The message never holds credentials. */
export class MqttConnectError extends BrokerConnectionError {
  override name = 'MqttConnectError';
}

/**
 * A delivery was settled after the connection it arrived on was lost. The broker still holds the
 * message and sends it again (flagged DUP) on the resumed session, so it may be handled twice.
 *
 * @deprecated Catch core's `DeliveryLostError`, which every transport raises for this condition.
 * The MQTT transport still raises this subclass of it, so code that catches it keeps working.
 */
export class MqttConnectionLostError extends DeliveryLostError {
  override name = 'MqttConnectionLostError';
}

/** A subscription was refused by the broker (SUBACK failure code), e.g. an ACL denies the topic. */
export class MqttSubscribeError extends CloudbusError {
  override name = 'MqttSubscribeError';
}

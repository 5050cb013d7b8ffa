import { BrokerConnectionError, CloudbusError, DeliveryLostError } from '@cloudbus/core/transport';

/** The broker could not be reached, or refused the connection (bad credentials, refused client id). The message never holds credentials. */
export class MqttConnectError extends BrokerConnectionError {
  override name = 'MqttConnectError';
}

/**
 * @deprecated Core's `DeliveryLostError`, under the name this transport used for it before every
 * transport raised the one class for a delivery settled after its connection was lost. Catching
 * it catches `DeliveryLostError`: it is the same class.
 */
export const MqttConnectionLostError = DeliveryLostError;
/** @deprecated Core's `DeliveryLostError`. */
export type MqttConnectionLostError = DeliveryLostError;

/** A subscription was refused by the broker (SUBACK failure code), e.g. an ACL denies the topic. */
export class MqttSubscribeError extends CloudbusError {
  override name = 'MqttSubscribeError';
}

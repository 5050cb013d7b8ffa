/** The SMS gateway did not take the message. */
export class SmsGatewayError extends Error {
  override name = 'SmsGatewayError';
}

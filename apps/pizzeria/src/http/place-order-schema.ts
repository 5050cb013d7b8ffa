import { ID_PATTERN, PHONE_PATTERN, text } from './validation.js';

/** JSON schema of the body of POST /orders: strict (no coercion, no unknown properties). */
export const placeOrderSchema = {
  type: 'object',
  required: ['customerId', 'phone', 'items', 'deliveryAddress'],
  additionalProperties: false,
  properties: {
    customerId: { type: 'string', minLength: 1, maxLength: 100, pattern: ID_PATTERN },
    phone: { type: 'string', pattern: PHONE_PATTERN },
    email: { type: 'string', format: 'email', maxLength: 254 },
    items: {
      type: 'array',
      minItems: 1,
      maxItems: 20,
      items: {
        type: 'object',
        required: ['menuItemId', 'quantity'],
        additionalProperties: false,
        properties: {
          menuItemId: { type: 'string', minLength: 1, maxLength: 100, pattern: ID_PATTERN },
          quantity: { type: 'integer', minimum: 1, maximum: 20 },
        },
      },
    },
    deliveryAddress: text(5, 300),
  },
} as const;

/** The body of POST /orders. */
export interface PlaceOrderBody {
  readonly customerId: string;
  readonly phone: string;
  readonly email?: string;
  readonly items: readonly { readonly menuItemId: string; readonly quantity: number }[];
  readonly deliveryAddress: string;
}

/** JSON schema of the body of POST /orders. */
export const placeOrderSchema = {
  type: 'object',
  required: ['customerId', 'phone', 'items', 'deliveryAddress'],
  additionalProperties: false,
  properties: {
    customerId: { type: 'string', minLength: 1, maxLength: 100 },
    phone: { type: 'string', pattern: '^\\+?[0-9][0-9 ()-]{5,19}$' },
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
          menuItemId: { type: 'string', minLength: 1, maxLength: 100 },
          quantity: { type: 'integer', minimum: 1, maximum: 20 },
        },
      },
    },
    deliveryAddress: { type: 'string', minLength: 5, maxLength: 300 },
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

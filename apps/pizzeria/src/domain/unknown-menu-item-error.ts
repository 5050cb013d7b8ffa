/** An order names a menu item the pizzeria does not sell. */
export class UnknownMenuItemError extends Error {
  override name = 'UnknownMenuItemError';
  constructor(
    readonly menuItemId: string,
    /** Index of the item in the order, for error reports that name the field. */
    readonly index: number,
  ) {
    super(`items[${index}].menuItemId: '${menuItemId}' is not on the menu (GET /menu lists what is).`);
  }
}

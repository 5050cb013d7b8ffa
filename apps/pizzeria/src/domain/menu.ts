/** A dish on the menu, with what one portion takes from the stock. */
export interface MenuItem {
  readonly id: string;
  readonly name: string;
  /** Price of one portion, a decimal string. */
  readonly price: string;
  /** Ingredient name -> units used per portion. */
  readonly ingredients: Readonly<Record<string, number>>;
}

/** An ingredient's starting stock and when to reorder it. */
export interface StockLevel {
  readonly ingredient: string;
  readonly quantity: number;
  /** InventoryLow is raised when the quantity falls under this. */
  readonly threshold: number;
  readonly supplier: string;
}

/** Mario's menu. */
export const MENU: readonly MenuItem[] = [
  { id: 'margherita', name: 'Margherita', price: '9.50', ingredients: { dough: 1, 'tomato-sauce': 1, mozzarella: 1, basil: 1 } },
  { id: 'marinara', name: 'Marinara', price: '8.00', ingredients: { dough: 1, 'tomato-sauce': 1, garlic: 1, oregano: 1 } },
  { id: 'diavola', name: 'Diavola', price: '12.00', ingredients: { dough: 1, 'tomato-sauce': 1, mozzarella: 1, salami: 1 } },
  { id: 'quattro-formaggi', name: 'Quattro Formaggi', price: '13.50', ingredients: { dough: 1, mozzarella: 2, gorgonzola: 1, parmesan: 1 } },
  { id: 'capricciosa', name: 'Capricciosa', price: '14.25', ingredients: { dough: 1, 'tomato-sauce': 1, mozzarella: 1, ham: 1, mushrooms: 1, artichokes: 1 } },
  { id: 'tiramisu', name: 'Tiramisù', price: '6.99', ingredients: { mascarpone: 1 } },
];

/** The stock the pizzeria opens with. */
export const INITIAL_STOCK: readonly StockLevel[] = [
  { ingredient: 'dough', quantity: 500, threshold: 100, supplier: 'Molino Caputo' },
  { ingredient: 'tomato-sauce', quantity: 400, threshold: 80, supplier: 'Mutti' },
  { ingredient: 'mozzarella', quantity: 400, threshold: 80, supplier: 'Caseificio Campano' },
  { ingredient: 'basil', quantity: 200, threshold: 40, supplier: 'Orto di Mario' },
  { ingredient: 'garlic', quantity: 200, threshold: 40, supplier: 'Orto di Mario' },
  { ingredient: 'oregano', quantity: 200, threshold: 40, supplier: 'Orto di Mario' },
  { ingredient: 'salami', quantity: 150, threshold: 30, supplier: 'Salumificio Napoli' },
  { ingredient: 'gorgonzola', quantity: 100, threshold: 20, supplier: 'Caseificio Campano' },
  { ingredient: 'parmesan', quantity: 100, threshold: 20, supplier: 'Caseificio Campano' },
  { ingredient: 'ham', quantity: 150, threshold: 30, supplier: 'Salumificio Napoli' },
  { ingredient: 'mushrooms', quantity: 150, threshold: 30, supplier: 'Orto di Mario' },
  { ingredient: 'artichokes', quantity: 150, threshold: 30, supplier: 'Orto di Mario' },
  { ingredient: 'mascarpone', quantity: 100, threshold: 20, supplier: 'Caseificio Campano' },
];

const BY_ID = new Map(MENU.map((item) => [item.id, item]));

/** The menu item with that id, or undefined. */
export function menuItem(id: string): MenuItem | undefined {
  return BY_ID.get(id);
}

/**
 * Mario's Pizzeria web page: the customer's order and tracker, the kitchen display and the
 * manager's view. It talks only to the pizzeria's HTTP API (same origin, JSON), and follows
 * orders live through the server-sent events of GET /events.
 */

type Status = 'placed' | 'paid' | 'cooking' | 'ready' | 'out-for-delivery' | 'delivered' | 'cancelled';

interface MenuItem {
  readonly id: string;
  readonly name: string;
  readonly price: string;
}
interface OrderLine {
  readonly menuItemId: string;
  readonly name: string;
  readonly quantity: number;
  readonly unitPrice: string;
}
interface Order {
  readonly id: string;
  readonly status: Status;
  readonly items: readonly OrderLine[];
  readonly total: string;
  readonly phone: string;
  readonly deliveryAddress: string;
  readonly placedAt: string;
  readonly paidAt: string | null;
  readonly cookingStartedAt: string | null;
  readonly readyAt: string | null;
  readonly outForDeliveryAt: string | null;
  readonly courier: string | null;
  readonly deliveredAt: string | null;
  readonly cancelledAt: string | null;
  readonly cancellationReason: string | null;
}
interface Kitchen {
  readonly ovens: number | null;
  readonly bakeTimeMs: number | null;
  readonly queue: readonly Order[];
  readonly cooking: readonly Order[];
  readonly ready: readonly Order[];
  readonly outForDelivery: readonly Order[];
  readonly delivered: readonly Order[];
}
interface Analytics {
  readonly ordersPlaced: number;
  readonly ordersPaid: number;
  readonly ordersDelivered: number;
  readonly ordersCancelled: number;
  readonly revenue: string;
  readonly averagePreparationSeconds: number | null;
  readonly deadLetters: { readonly count: number };
  readonly inspectorUrl: string;
}
interface StockLine {
  readonly ingredient: string;
  readonly quantity: number;
  readonly threshold: number;
  readonly supplier: string;
  readonly low: boolean;
}
interface StockAlert {
  readonly ingredient: string;
  readonly supplier: string;
  readonly reordered: number;
  readonly raisedAt: string;
}
interface Notification {
  readonly channel: 'sms' | 'email';
  readonly recipient: string;
  readonly subject: string | null;
  readonly body: string;
  readonly sentAt: string;
}
interface ApiError {
  readonly error: string;
  readonly field?: string;
  readonly message: string;
}

/** An answer of the API that is not 2xx. */
class ApiRequestError extends Error {
  override readonly name = 'ApiRequestError';
  constructor(
    readonly status: number,
    readonly body: ApiError,
  ) {
    super(body.message);
  }
}

// ---- small helpers -------------------------------------------------------------------------

function $(id: string): HTMLElement {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`#${id} is missing from the page`);
  return element;
}

/** Creates an element with text (never HTML: everything shown comes from outside). */
function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: { className?: string; text?: string; attrs?: Record<string, string> } = {}, ...children: Node[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (props.className !== undefined) element.className = props.className;
  if (props.text !== undefined) element.textContent = props.text;
  for (const [name, value] of Object.entries(props.attrs ?? {})) element.setAttribute(name, value);
  element.append(...children);
  return element;
}

const euro = (amount: string | number): string => `€${Number(amount).toFixed(2)}`;
const clock = (iso: string | null): string => (iso === null ? '' : new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }));
const shortId = (id: string): string => id.slice(0, 8);
const lines = (order: Order): string => order.items.map((line) => `${line.quantity}× ${line.name}`).join(', ');

async function api<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    headers: method === 'POST' ? { 'content-type': 'application/json', accept: 'application/json' } : { accept: 'application/json' },
    ...(method === 'POST' ? { body: JSON.stringify(body ?? {}) } : {}),
  });
  const answer = (await response.json().catch(() => ({ error: 'BadResponse', message: `${response.status} ${response.statusText}` }))) as T | ApiError;
  if (!response.ok) throw new ApiRequestError(response.status, answer as ApiError);
  return answer as T;
}

let toastTimer: number | undefined;
function toast(message: string): void {
  const box = $('toast');
  box.textContent = message;
  box.hidden = false;
  window.clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => (box.hidden = true), 5000);
}

/** Runs `work` at most once per `ms`, after the last call (events come in bursts). */
function debounce(work: () => Promise<void>, ms: number): () => void {
  let timer: number | undefined;
  return () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => void work().catch((error: unknown) => toast(String(error))), ms);
  };
}

// ---- views ---------------------------------------------------------------------------------

type View = 'order' | 'kitchen' | 'manager';
const VIEWS: readonly View[] = ['order', 'kitchen', 'manager'];

function currentView(): View {
  const name = location.hash.replace('#', '');
  return (VIEWS as readonly string[]).includes(name) ? (name as View) : 'order';
}

function showView(): void {
  const view = currentView();
  for (const name of VIEWS) {
    $(`view-${name}`).hidden = name !== view;
    document.querySelector(`[data-view-link="${name}"]`)?.classList.toggle('active', name === view);
  }
  if (view === 'kitchen') refreshKitchen();
  if (view === 'manager') refreshManager();
}

// ---- customer ------------------------------------------------------------------------------

const cart = new Map<string, number>();
let menu: readonly MenuItem[] = [];
let trackedOrder: Order | undefined;

function customerId(): string {
  let id = localStorage.getItem('pizzeria.customerId');
  if (id === null) {
    id = `web-${crypto.randomUUID().slice(0, 8)}`;
    localStorage.setItem('pizzeria.customerId', id);
  }
  return id;
}

function renderMenu(): void {
  const list = $('menu');
  list.replaceChildren(
    ...menu.map((item) => {
      const add = el('button', { className: 'add', text: 'Add', attrs: { type: 'button', 'aria-label': `Add ${item.name}` } });
      add.addEventListener('click', () => {
        cart.set(item.id, Math.min(20, (cart.get(item.id) ?? 0) + 1));
        renderCart();
      });
      return el(
        'li',
        { className: 'dish', attrs: { 'data-item': item.id } },
        el('span', { className: 'dish-art', attrs: { 'aria-hidden': 'true' } }, el('span', { className: item.id === 'tiramisu' ? 'cake' : `pizza pizza-${item.id}` })),
        el('span', { className: 'dish-name', text: item.name }),
        el('span', { className: 'dish-price', text: euro(item.price) }),
        add,
      );
    }),
  );
}

function renderCart(): void {
  const list = $('cart');
  let total = 0;
  const rows: HTMLElement[] = [];
  for (const [id, quantity] of cart) {
    const item = menu.find((candidate) => candidate.id === id);
    if (item === undefined) continue;
    total += Number(item.price) * quantity;
    const less = el('button', { className: 'qty', text: '−', attrs: { type: 'button', 'aria-label': `One ${item.name} less` } });
    const more = el('button', { className: 'qty', text: '+', attrs: { type: 'button', 'aria-label': `One ${item.name} more` } });
    less.addEventListener('click', () => {
      if (quantity <= 1) cart.delete(id);
      else cart.set(id, quantity - 1);
      renderCart();
    });
    more.addEventListener('click', () => {
      cart.set(id, Math.min(20, quantity + 1));
      renderCart();
    });
    rows.push(
      el(
        'li',
        { attrs: { 'data-cart-item': id } },
        el('span', { className: 'cart-name', text: item.name }),
        el('span', { className: 'cart-qty' }, less, el('span', { className: 'qty-value', text: String(quantity) }), more),
        el('span', { className: 'cart-price', text: euro(Number(item.price) * quantity) }),
      ),
    );
  }
  list.replaceChildren(...rows);
  $('cart-empty').hidden = rows.length > 0;
  $('cart-total').textContent = euro(total);
}

function clearErrors(): void {
  for (const box of document.querySelectorAll<HTMLElement>('[data-error-for]')) box.textContent = '';
  for (const input of document.querySelectorAll<HTMLInputElement>('#order-form input')) input.removeAttribute('aria-invalid');
}

/** Shows an API error next to its field: `phone`, `deliveryAddress`, `items[0].quantity` -> items... */
function showError(error: unknown): void {
  if (!(error instanceof ApiRequestError)) {
    document.querySelector<HTMLElement>('[data-error-for="form"]')!.textContent = `The pizzeria could not be reached: ${String(error)}`;
    return;
  }
  const field = (error.body.field ?? '').split(/[.[]/)[0] ?? '';
  const target = document.querySelector<HTMLElement>(`[data-error-for="${field}"]`) ?? document.querySelector<HTMLElement>('[data-error-for="form"]')!;
  // "body field 'phone' must be ..." reads better as "Phone must be ..." next to the field.
  target.textContent = error.body.message.replace(/^body field '[^']*' /, '').replace(/^./, (first) => first.toUpperCase());
  document.querySelector<HTMLInputElement>(`#order-form input[name="${field}"]`)?.setAttribute('aria-invalid', 'true');
}

async function placeOrder(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  clearErrors();
  const form = new FormData(event.target as HTMLFormElement);
  const value = (name: string): string => String(form.get(name) ?? '').trim();
  const email = value('email');
  const body = {
    customerId: customerId(),
    phone: value('phone'),
    ...(email === '' ? {} : { email }),
    items: [...cart].map(([menuItemId, quantity]) => ({ menuItemId, quantity })),
    deliveryAddress: value('deliveryAddress'),
  };
  const button = $('place-order') as HTMLButtonElement;
  button.disabled = true;
  try {
    const order = await api<Order>('POST', '/orders', body);
    sessionStorage.setItem('pizzeria.orderId', order.id);
    cart.clear();
    renderCart();
    track(order);
    $('tracker').scrollIntoView({ behavior: 'smooth', block: 'start' });
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
  }
}

const STEPS: readonly { readonly status: Status; readonly label: string; readonly at: (order: Order) => string | null }[] = [
  { status: 'placed', label: 'Placed', at: (o) => o.placedAt },
  { status: 'paid', label: 'Paid', at: (o) => o.paidAt },
  { status: 'cooking', label: 'Cooking', at: (o) => o.cookingStartedAt },
  { status: 'ready', label: 'Ready', at: (o) => o.readyAt },
  { status: 'out-for-delivery', label: 'Out for delivery', at: (o) => o.outForDeliveryAt },
  { status: 'delivered', label: 'Delivered', at: (o) => o.deliveredAt },
];

function track(order: Order): void {
  if (trackedOrder !== undefined && trackedOrder.id === order.id && Date.parse(trackedOrder.placedAt) === Date.parse(order.placedAt)) {
    // Events may arrive out of order: keep the furthest state.
    const rank = (o: Order) => STEPS.filter((step) => step.at(o) !== null).length + (o.cancelledAt === null ? 0 : 10);
    if (rank(order) < rank(trackedOrder)) return;
  }
  trackedOrder = order;
  $('tracker').hidden = false;
  $('tracker-id').textContent = shortId(order.id);
  $('tracker').setAttribute('data-status', order.status);
  $('tracker-summary').textContent = `${lines(order)} · ${euro(order.total)} · to ${order.deliveryAddress}`;
  const pay = $('pay') as HTMLButtonElement;
  pay.hidden = order.status !== 'placed';
  pay.textContent = `Pay ${euro(order.total)}`;
  $('steps').replaceChildren(
    ...STEPS.map((step) => {
      const at = step.at(order);
      return el(
        'li',
        { className: at === null ? 'step' : 'step done', attrs: { 'data-step': step.status } },
        el('span', { className: 'dot', attrs: { 'aria-hidden': 'true' } }),
        el('span', { className: 'step-label', text: step.label }),
        el('time', { className: 'step-time', text: clock(at), ...(at === null ? {} : { attrs: { datetime: at } }) }),
      );
    }),
  );
  const cancelled = $('tracker-cancelled');
  cancelled.hidden = order.status !== 'cancelled';
  const nonPayment = order.cancellationReason?.startsWith('payment not received') === true;
  cancelled.textContent =
    order.status === 'cancelled' ? `${nonPayment ? 'Cancelled for non-payment' : 'Cancelled'} at ${clock(order.cancelledAt)}: ${order.cancellationReason ?? ''}` : '';
  void loadNotifications(order.id);
}

async function loadNotifications(orderId: string): Promise<void> {
  const { notifications } = await api<{ notifications: Notification[] }>('GET', `/notifications?orderId=${encodeURIComponent(orderId)}`);
  if (trackedOrder?.id !== orderId) return;
  const list = $('notifications');
  list.replaceChildren(
    ...notifications
      .slice()
      .sort((a, b) => a.sentAt.localeCompare(b.sentAt))
      .map((n) =>
        el(
          'li',
          { className: `note note-${n.channel}` },
          el('span', { className: 'note-channel', text: n.channel === 'sms' ? 'SMS' : 'E-mail' }),
          el('span', { className: 'note-body', text: n.subject === null ? n.body : `${n.subject}: ${n.body}` }),
          el('time', { className: 'note-time', text: clock(n.sentAt) }),
        ),
      ),
  );
  if (notifications.length === 0) list.replaceChildren(el('li', { className: 'muted', text: 'None yet.' }));
}

async function pay(): Promise<void> {
  if (trackedOrder === undefined) return;
  try {
    track(await api<Order>('POST', `/orders/${encodeURIComponent(trackedOrder.id)}/pay`, {}));
  } catch (error) {
    toast(error instanceof Error ? error.message : String(error));
  }
}

// ---- kitchen display -----------------------------------------------------------------------

let kitchen: Kitchen | undefined;

function ticket(order: Order, action?: { label: string; run: () => Promise<unknown> }): HTMLElement {
  const item = el(
    'li',
    { className: 'ticket', attrs: { 'data-order': order.id } },
    el('div', { className: 'ticket-head' }, el('span', { className: 'mono', text: `#${shortId(order.id)}` }), el('span', { className: 'muted', text: clock(order.paidAt ?? order.placedAt) })),
    el('ul', { className: 'ticket-lines' }, ...order.items.map((line) => el('li', { text: `${line.quantity}× ${line.name}` }))),
  );
  if (order.courier !== null && order.status !== 'ready') item.append(el('p', { className: 'muted', text: `Courier ${order.courier}` }));
  if (action !== undefined) {
    const button = el('button', { className: 'secondary', text: action.label, attrs: { type: 'button' } });
    button.addEventListener('click', () => {
      button.disabled = true;
      action.run().then(refreshKitchen, (error: unknown) => {
        button.disabled = false;
        toast(error instanceof Error ? error.message : String(error));
      });
    });
    item.append(button);
  }
  return item;
}

const COURIERS = ['Luigi', 'Peach', 'Toad'];

function renderKitchen(): void {
  if (kitchen === undefined) return;
  $('queue').replaceChildren(...kitchen.queue.map((order) => ticket(order)));
  $('queue-count').textContent = String(kitchen.queue.length);
  const ovenCount = Math.max(kitchen.ovens ?? 0, kitchen.cooking.length, 1);
  $('ovens').replaceChildren(
    ...Array.from({ length: ovenCount }, (_, index) => {
      const order = kitchen!.cooking[index];
      const oven = el('li', { className: order === undefined ? 'oven idle' : 'oven baking' }, el('h3', { text: `Oven ${index + 1}` }));
      if (order === undefined) {
        oven.append(el('p', { className: 'muted', text: 'Free' }));
        return oven;
      }
      oven.setAttribute('data-order', order.id);
      oven.append(
        el('p', { className: 'mono', text: `#${shortId(order.id)}` }),
        el('p', { className: 'oven-lines', text: lines(order) }),
        el('div', { className: 'bar' }, el('span', { className: 'bar-fill', attrs: { 'data-started': order.cookingStartedAt ?? '' } })),
        el('p', { className: 'timer', attrs: { 'data-started': order.cookingStartedAt ?? '' } }),
      );
      return oven;
    }),
  );
  $('ready').replaceChildren(
    ...kitchen.ready.map((order, index) =>
      ticket(order, {
        label: `Hand to ${COURIERS[index % COURIERS.length]!}`,
        run: () => api('POST', `/orders/${encodeURIComponent(order.id)}/out-for-delivery`, { courier: COURIERS[index % COURIERS.length] }),
      }),
    ),
  );
  $('ready-count').textContent = String(kitchen.ready.length);
  $('out').replaceChildren(
    ...kitchen.outForDelivery.map((order) => ticket(order, { label: 'Delivered', run: () => api('POST', `/orders/${encodeURIComponent(order.id)}/delivered`, {}) })),
  );
  $('out-count').textContent = String(kitchen.outForDelivery.length);
  $('delivered').replaceChildren(...kitchen.delivered.map((order) => ticket(order)));
  tickTimers();
}

/** Moves the oven timers on (a local clock: the server's times are pushed with each change). */
function tickTimers(): void {
  const bake = kitchen?.bakeTimeMs ?? null;
  for (const timer of document.querySelectorAll<HTMLElement>('.timer[data-started]')) {
    const elapsed = Math.max(0, Date.now() - Date.parse(timer.dataset['started'] ?? ''));
    timer.textContent = Number.isNaN(elapsed) ? '' : bake === null ? `${(elapsed / 1000).toFixed(0)} s` : `${(elapsed / 1000).toFixed(1)} s of ${(bake / 1000).toFixed(1)} s`;
  }
  for (const fill of document.querySelectorAll<HTMLElement>('.bar-fill[data-started]')) {
    const elapsed = Date.now() - Date.parse(fill.dataset['started'] ?? '');
    fill.style.width = bake === null || bake === 0 || Number.isNaN(elapsed) ? '100%' : `${Math.min(100, (elapsed / bake) * 100).toFixed(0)}%`;
  }
}

const refreshKitchen = debounce(async () => {
  kitchen = await api<Kitchen>('GET', '/kitchen');
  renderKitchen();
}, 100);

// ---- manager -------------------------------------------------------------------------------

function kpi(label: string, value: string, extra?: Node): HTMLElement {
  const card = el('div', { className: 'kpi' }, el('span', { className: 'kpi-label', text: label }), el('strong', { className: 'kpi-value', text: value }));
  if (extra !== undefined) card.append(extra);
  return card;
}

const refreshManager = debounce(async () => {
  const [analytics, stock] = await Promise.all([api<Analytics>('GET', '/analytics'), api<{ ingredients: StockLine[]; alerts: StockAlert[] }>('GET', '/stock')]);
  const link = el('a', { className: 'kpi-link', text: 'Open the inspector ↗', attrs: { href: analytics.inspectorUrl, target: '_blank', rel: 'noopener' } });
  const dead = kpi('Dead letters', String(analytics.deadLetters.count), link);
  dead.id = 'dead-letters';
  if (analytics.deadLetters.count > 0) dead.classList.add('warn');
  $('kpis').replaceChildren(
    kpi('Orders placed', String(analytics.ordersPlaced)),
    kpi('Delivered', String(analytics.ordersDelivered)),
    kpi('Cancelled', String(analytics.ordersCancelled)),
    kpi('Revenue', euro(analytics.revenue)),
    kpi('Avg. preparation', analytics.averagePreparationSeconds === null ? '–' : `${analytics.averagePreparationSeconds.toFixed(1)} s`),
    dead,
  );
  const max = Math.max(1, ...stock.ingredients.map((line) => line.quantity));
  $('stock').replaceChildren(
    ...stock.ingredients.map((line) =>
      el(
        'tr',
        { className: line.low ? 'low' : '', attrs: { 'data-ingredient': line.ingredient } },
        el('td', { text: line.ingredient }, ...(line.low ? [el('span', { className: 'badge', text: 'low' })] : [])),
        el('td', {}, el('div', { className: 'bar' }, el('span', { className: 'bar-fill' }))),
        el('td', { className: 'num', text: `${line.quantity} / min ${line.threshold}` }),
        el('td', { className: 'muted', text: line.supplier }),
      ),
    ),
  );
  // Widths set through the CSSOM (the page's CSP allows no inline style attributes).
  [...$('stock').querySelectorAll<HTMLElement>('.bar-fill')].forEach((fill, index) => {
    fill.style.width = `${Math.round(((stock.ingredients[index]?.quantity ?? 0) / max) * 100)}%`;
  });
  $('alerts').replaceChildren(
    ...(stock.alerts.length === 0
      ? [el('li', { className: 'muted', text: 'No ingredient ran low yet.' })]
      : stock.alerts.map((alert) => el('li', { text: `${clock(alert.raisedAt)} · ${alert.ingredient}: ${alert.reordered} reordered from ${alert.supplier}` }))),
  );
}, 300);

// ---- live updates --------------------------------------------------------------------------

function connect(): void {
  const live = $('live');
  const source = new EventSource('/events');
  source.addEventListener('open', () => {
    live.textContent = 'live';
    live.classList.add('on');
    // Catch up on what happened while disconnected.
    if (trackedOrder !== undefined) void reloadTracked(trackedOrder.id);
    if (currentView() === 'kitchen') refreshKitchen();
    if (currentView() === 'manager') refreshManager();
  });
  source.addEventListener('error', () => {
    live.textContent = 'reconnecting…';
    live.classList.remove('on');
  });
  source.addEventListener('order', (event) => {
    let order: Order;
    try {
      order = JSON.parse((event as MessageEvent<string>).data) as Order;
    } catch {
      return;
    }
    if (trackedOrder?.id === order.id) track(order);
    if (currentView() === 'kitchen') refreshKitchen();
    if (currentView() === 'manager') refreshManager();
  });
}

async function reloadTracked(id: string): Promise<void> {
  try {
    track(await api<Order>('GET', `/orders/${encodeURIComponent(id)}`));
  } catch {
    sessionStorage.removeItem('pizzeria.orderId');
  }
}

async function main(): Promise<void> {
  ({ items: menu } = await api<{ items: MenuItem[] }>('GET', '/menu'));
  renderMenu();
  renderCart();
  $('order-form').addEventListener('submit', (event) => void placeOrder(event as SubmitEvent));
  $('pay').addEventListener('click', () => void pay());
  window.addEventListener('hashchange', showView);
  window.setInterval(tickTimers, 250);
  showView();
  const remembered = sessionStorage.getItem('pizzeria.orderId');
  if (remembered !== null) await reloadTracked(remembered);
  connect();
}

main().catch((error: unknown) => toast(`The page could not start: ${String(error)}`));

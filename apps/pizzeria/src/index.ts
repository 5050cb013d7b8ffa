// @cloudbus/pizzeria: Mario's Pizzeria, the cloudbus reference app. Everything is exported by name.

// The app
export { createPizzeria, type Pizzeria } from './app/pizzeria.js';
export type { PizzeriaOptions } from './app/pizzeria-options.js';
export { parsePizzeriaConfig, START_USAGE, type PizzeriaConfig } from './app/pizzeria-config.js';
export { KITCHEN_BUS } from './app/tokens.js';

// Domain
export { Order, type OrderSnapshot, type PlaceOrder } from './domain/order.js';
export { ORDER_STATUSES, type OrderStatus } from './domain/order-status.js';
export { IllegalTransitionError } from './domain/illegal-transition-error.js';
export { UnknownMenuItemError } from './domain/unknown-menu-item-error.js';
export { InvalidMoneyError } from './domain/invalid-money-error.js';
export { Money } from './domain/money.js';
export { INITIAL_STOCK, MENU, menuItem, type MenuItem, type StockLevel } from './domain/menu.js';

// Events
export { OrderPlaced } from './events/order-placed.js';
export { OrderPlacedV1 } from './events/order-placed-v1.js';
export type { OrderLine } from './events/order-line.js';
export { PaymentProcessed } from './events/payment-processed.js';
export { OrderCookingStarted } from './events/order-cooking-started.js';
export { OrderReady } from './events/order-ready.js';
export { OrderOutForDelivery } from './events/order-out-for-delivery.js';
export { OrderDelivered } from './events/order-delivered.js';
export { OrderCancelled } from './events/order-cancelled.js';
export { InventoryLow } from './events/inventory-low.js';

// Kitchen devices
export { KitchenTicketQueued } from './kitchen/kitchen-ticket-queued.js';
export { KitchenCookingStarted } from './kitchen/kitchen-cooking-started.js';
export { KitchenOrderReady } from './kitchen/kitchen-order-ready.js';
export { Oven } from './kitchen/oven.js';
export { startKitchenDevices, type KitchenDevices, type KitchenDevicesOptions } from './kitchen/kitchen-devices.js';

// Handlers
export { KitchenWorkflow, ingredientsFor } from './handlers/kitchen-workflow.js';
export { KitchenReports } from './handlers/kitchen-reports.js';
export { ReportOutOfOrderError } from './handlers/report-out-of-order-error.js';
export { CustomerCommunication } from './handlers/customer-communication.js';
export { InventoryProjection } from './handlers/inventory-projection.js';
export { AnalyticsProjection } from './handlers/analytics-projection.js';
export { RetryPolicies } from './handlers/retry-policies.js';

// Notifications
export { SMS_SENDER, type SmsMessage, type SmsSender } from './notifications/sms-sender.js';
export { EMAIL_SENDER, type EmailMessage, type EmailSender } from './notifications/email-sender.js';
export type { Notification } from './notifications/notification.js';
export { NotificationLog } from './notifications/notification-log.js';
export { RecordingSmsSender } from './notifications/recording-sms-sender.js';
export { RecordingEmailSender } from './notifications/recording-email-sender.js';
export { FlakySmsSender } from './notifications/flaky-sms-sender.js';
export { SmsGatewayError } from './notifications/sms-gateway-error.js';

// Persistence
export type { Database, SqlExecutor } from './persistence/database.js';
export { SqliteDatabase } from './persistence/sqlite-database.js';
export type { PostgresDatabaseOptions } from './persistence/postgres-database.js';
export { openDatabase } from './persistence/open-database.js';
export { migrate } from './persistence/schema.js';
export { OrderRepository, type EventPreparer } from './persistence/order-repository.js';
export { OrderConflictError } from './persistence/order-conflict-error.js';
export { SqlOutbox, type SqlOutboxOptions } from './persistence/sql-outbox.js';
export { SqlInbox, type SqlInboxOptions } from './persistence/sql-inbox.js';
export { SqlSagaStore } from './persistence/sql-saga-store.js';
export { SqlScheduleCancellations } from './persistence/sql-schedule-cancellations.js';
export { LIFECYCLE_SETTINGS, OrderLifecycle, PaymentDue, DeliveryDue, type LifecycleSettings, type OrderLifecycleState } from './lifecycle/order-lifecycle.js';
export { PaymentExpiry, nonPaymentReason } from './lifecycle/payment-expiry.js';
export { PaymentWindowExpired } from './events/payment-window-expired.js';
export { DeliveryDelayed } from './events/delivery-delayed.js';
export { InventoryStore, type ReservationResult, type StockAlert, type StockLine } from './persistence/inventory-store.js';
export { AnalyticsStore, type AnalyticsReport, type Metric } from './persistence/analytics-store.js';

// Timeline
export { TimelineRecorder, type DeadLetterSummary, type TimelineRecorderOptions } from './timeline/timeline-recorder.js';
export type { TimelineEntry } from './timeline/timeline-entry.js';

// HTTP API and demo
export { createHttpApi, type HttpApiDependencies } from './http/create-http-api.js';
export { placeOrderSchema, type PlaceOrderBody } from './http/place-order-schema.js';
export { runDemo, type DemoOptions, type DemoSummary } from './demo/run-demo.js';
export { percentile } from './demo/percentile.js';

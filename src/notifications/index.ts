/**
 * The notifications context's public surface: subscriptions to domain events (`kind: Notification`)
 * delivered through the outbox to Slack-compatible webhooks, Standard-Webhooks-signed HTTP and NATS,
 * with a delivery log; and the context module the platform installs.
 */
import path from 'node:path';
import { SecretBox } from '../core/secret-box.js';
import { defineContext } from '../storage/context-module.js';
import { notificationsRoutes } from './http/notifications-routes.js';
import { notificationTables } from './migrations/0021-notifications.js';
import { NotificationSender } from './notification-sender.js';
import { LocalNotifications, type NotificationService } from './notification-service.js';
import { SqlNotificationStore } from './sql-notification-store.js';

export type { NotificationService, NotificationView } from './notification-service.js';
export { compileNotification, KEEP, NOTIFICATION_EVENTS, type NotificationSpec, type NotificationTarget } from './notification-spec.js';
export type { NotificationDelivery } from './sql-notification-store.js';
export { slackMessage, cliCommandFor } from './slack-message.js';

/** The outbox subscription delivering notifications. */
export const NOTIFICATIONS_SUBSCRIPTION = 'notifications.deliver';

/** Notifications: `platform.context('notifications')`, the `notifications.deliver` outbox subscription, `/api/v1/notifications`. */
export const notificationsContext = defineContext<NotificationService>({
  name: 'notifications',
  migrations: { '0021_notifications': notificationTables },
  create({ config, db }) {
    const box = new SecretBox({ secretKey: config.secretKey, keyFile: path.join(config.home, 'secret.key') });
    const sender = new NotificationSender(config.outbound);
    const service = new LocalNotifications(new SqlNotificationStore(db), box, sender, config.outbound, config.outbox.maxAttempts);
    return { service, subscriptions: [{ name: NOTIFICATIONS_SUBSCRIPTION, patterns: ['*'], handler: service.handler }], close: () => sender.close() };
  },
  routes: [notificationsRoutes],
});

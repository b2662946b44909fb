import type { SecretBox } from '../core/secret-box.js';
import type { NotificationSettings } from './notification-settings.js';

const CONTEXT = 'batch-notification';

/** Settings as stored: the webhook secret sealed with the platform's secret key. */
export function sealNotification(box: SecretBox, n: NotificationSettings): NotificationSettings {
  return n.webhookSecret ? { ...n, webhookSecret: box.seal(n.webhookSecret, CONTEXT) } : n;
}

/** Settings with the webhook secret opened again, for signing. */
export function openNotification(box: SecretBox, n: NotificationSettings): NotificationSettings {
  return n.webhookSecret ? { ...n, webhookSecret: box.open(n.webhookSecret, CONTEXT) } : n;
}

/** Settings as the API shows them: never the secret. */
export function publicNotification(n: NotificationSettings | undefined): Omit<NotificationSettings, 'webhookSecret'> | undefined {
  if (!n) return undefined;
  const { webhookSecret: _secret, ...rest } = n;
  return rest;
}

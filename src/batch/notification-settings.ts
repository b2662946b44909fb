import { CapstanError } from '../core/errors.js';
import { webhookSecretProblem } from '../core/webhook-signature.js';

/** Where a finished batch job or asynchronous invocation is announced; every field is optional. */
export interface NotificationInput {
  /** Standard-Webhooks-signed POST to this URL (checked by the outbound guard); default none. */
  webhookUrl?: string;
  /** `whsec_…` secret the webhook is signed with; required with `webhookUrl`. */
  webhookSecret?: string;
  /** NATS subject the notification is published on (`capstan.async.ranker`); default none. */
  natsSubject?: string;
  /** Include the result (an asynchronous invocation's output) when it is at most 128 KiB; default false. */
  includeResult?: boolean;
}

/** Notification settings with defaults filled. */
export interface NotificationSettings {
  webhookUrl?: string;
  webhookSecret?: string;
  natsSubject?: string;
  includeResult: boolean;
}

/** The largest result a notification carries inline. */
export const MAX_INLINE_RESULT_BYTES = 128 * 1024;

function bad(detail: string, field: string): CapstanError {
  return new CapstanError('CAPSTAN_NOTIFY_INVALID', detail, { fields: { field }, retryable: false });
}

/** Validates notification settings (the URL's address is checked separately, by the outbound guard). */
export function compileNotification(input: NotificationInput): NotificationSettings {
  if (!input || typeof input !== 'object' || Array.isArray(input)) throw bad('notification must be an object', 'notification');
  const { webhookUrl, webhookSecret, natsSubject, includeResult } = input;
  if (webhookUrl !== undefined && (typeof webhookUrl !== 'string' || !/^https?:\/\//.test(webhookUrl))) throw bad('notification.webhookUrl must be an http(s) URL', 'notification.webhookUrl');
  if (webhookUrl !== undefined) {
    if (typeof webhookSecret !== 'string' || !webhookSecret.startsWith('whsec_')) throw bad('notification.webhookSecret is required with webhookUrl (a whsec_… secret)', 'notification.webhookSecret');
    const problem = webhookSecretProblem(webhookSecret);
    if (problem) throw bad(`notification.webhookSecret: ${problem}`, 'notification.webhookSecret');
  }
  if (natsSubject !== undefined && (typeof natsSubject !== 'string' || !/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(natsSubject))) {
    throw bad('notification.natsSubject must be dot-separated tokens of letters, digits, _ and - (no wildcards)', 'notification.natsSubject');
  }
  if (includeResult !== undefined && typeof includeResult !== 'boolean') throw bad('notification.includeResult must be true or false', 'notification.includeResult');
  if (webhookUrl === undefined && natsSubject === undefined) throw bad('notification needs webhookUrl or natsSubject', 'notification');
  return { ...(webhookUrl ? { webhookUrl, webhookSecret } : {}), ...(natsSubject ? { natsSubject } : {}), includeResult: includeResult ?? false };
}

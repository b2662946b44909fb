import { Type } from 'typebox';
import type { OperationDocs } from './operation-doc.js';

const View = Type.Object({
  spec: Type.Object({
    name: Type.String(),
    events: Type.Array(Type.String()),
    target: Type.Record(Type.String(), Type.Unknown(), { description: 'type slack, webhook or nats; secrets shown as "(secret: unchanged)"' }),
    consoleUrl: Type.Optional(Type.String()),
  }),
  secretDigest: Type.String({ description: 'sha256 over the secrets: changes when they do, reveals nothing' }),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
const Delivery = Type.Object({
  subscription: Type.String(),
  eventId: Type.String(),
  eventType: Type.String(),
  subject: Type.Union([Type.String(), Type.Null()]),
  state: Type.String({ description: 'delivered, failed (retried with backoff) or dead' }),
  attempts: Type.Integer(),
  statusCode: Type.Union([Type.Integer(), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});

/** Notifications: subscriptions (created with apply, kind Notification) and their delivery log. */
export const notificationOperations: OperationDocs = {
  'GET /api/v1/notifications': { operationId: 'listNotifications', description: 'Every notification subscription; secrets (a Slack webhook URL, signing secrets) are never shown.', responses: { 200: Type.Object({ notifications: Type.Array(View) }) } },
  'GET /api/v1/notifications/:name': { operationId: 'getNotification', description: 'One subscription, secrets masked.', errors: ['CAPSTAN_NOTIFICATION_NOT_FOUND'], responses: { 200: View } },
  'GET /api/v1/notifications/:name/log': {
    operationId: 'notificationLog',
    description: 'Deliveries of one subscription, newest first: one line per event with its state, attempts, the last HTTP status and error.',
    errors: ['CAPSTAN_NOTIFICATION_NOT_FOUND'],
    responses: { 200: Type.Object({ deliveries: Type.Array(Delivery) }) },
  },
};

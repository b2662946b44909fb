import { Type } from 'typebox';
import type { ContextRoutes } from '../../storage/context-module.js';
import type { NotificationService } from '../notification-service.js';

const tags = ['notifications'];
const Name = Type.Object({ name: Type.String({ minLength: 1, maxLength: 63 }) });

/** `/api/v1/notifications`: subscriptions (secrets never shown) and their delivery log; they are created with `capstan apply` (`kind: Notification`). */
export const notificationsRoutes: ContextRoutes<NotificationService> = async (app, { service: svc }) => {
  app.get('/api/v1/notifications', { config: { access: 'viewer' }, schema: { tags, summary: 'List notification subscriptions' } }, async () => ({ notifications: await svc.list() }));

  app.get('/api/v1/notifications/:name', { config: { access: 'viewer' }, schema: { tags, summary: 'One notification subscription', params: Name } }, async (req) => svc.get((req.params as { name: string }).name));

  app.get(
    '/api/v1/notifications/:name/log',
    { config: { access: 'viewer' }, schema: { tags, summary: 'The delivery log of a subscription, newest first', params: Name, querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }) } },
    async (req) => ({ deliveries: await svc.log((req.params as { name: string }).name, (req.query as { limit?: number }).limit) }),
  );
};

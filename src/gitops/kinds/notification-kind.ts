import { isCapstanError } from '../../core/errors.js';
import { compileNotification, type NotificationService, type NotificationSpec } from '../../notifications/index.js';
import { issueAt, kindDocument, stableJson, type KindAdapter, type KindContext, type ResourceState } from '../kind-adapter.js';

const svc = (ctx: KindContext) => ctx.services.use<NotificationService>('notifications');

/** The document of a spec: targets as `target: { slack: { url } }`, secrets as the KEEP marker when read back. */
function documentOf(spec: NotificationSpec): Record<string, unknown> {
  const { type, ...fields } = spec.target;
  return kindDocument('Notification', { name: spec.name, events: spec.events, target: { [type]: fields }, consoleUrl: spec.consoleUrl });
}

function state(spec: NotificationSpec, secretDigest: string): ResourceState {
  const { target, ...rest } = spec;
  const { url: _u, secret: _s, ...shape } = target as Record<string, unknown>;
  // Secrets count by digest only: the fingerprint and the diff never hold them.
  return { document: documentOf(spec), fingerprint: stableJson({ ...rest, target: { ...shape, url: target.type === 'webhook' ? target.url : undefined }, secretDigest }), notes: [`secrets ${secretDigest.slice(0, 19)}`] };
}

/** `kind: Notification`: a subscription to events, delivered to Slack, signed HTTP or NATS (docs/gitops.md); secrets are never shown back. */
export const notificationKind: KindAdapter<NotificationSpec> = {
  kind: 'Notification',
  aliases: ['notification', 'notifications'],

  validate(_ctx, doc, issues) {
    const r = compileNotification(doc.body);
    for (const i of r.issues) issues.push(issueAt(doc, i.path, i.message));
    return r.spec;
  },

  async verify(ctx, spec, doc) {
    try {
      await svc(ctx).checkTarget(spec);
      await svc(ctx).secretDigestOf(spec);
      return [];
    } catch (err) {
      if (!isCapstanError(err) || !['CAPSTAN_NOTIFICATION_TARGET_REFUSED', 'CAPSTAN_NOTIFICATION_INVALID'].includes(err.code)) throw err;
      return [issueAt(doc, ['target', spec.target.type], err.message)];
    }
  },

  async desired(ctx, spec) {
    const masked = documentOf(spec);
    const s = state(spec, await svc(ctx).secretDigestOf(spec));
    // A plan shows the desired secrets masked, like `get`.
    const t = (masked.target as Record<string, Record<string, unknown>>)[spec.target.type];
    if (spec.target.type === 'slack') t.url = '***';
    if ('secret' in t && t.secret !== undefined) t.secret = '***';
    return { ...s, document: masked };
  },

  async read(ctx, name) {
    try {
      const v = await svc(ctx).get(name);
      return state(v.spec, v.secretDigest);
    } catch (err) {
      if (isCapstanError(err, 'CAPSTAN_NOTIFICATION_NOT_FOUND')) return undefined;
      throw err;
    }
  },

  async list(ctx) {
    return (await svc(ctx).list()).map((v) => v.spec.name);
  },

  async apply(ctx, spec) {
    const before = await this.read(ctx, spec.name);
    const after = state(spec, await svc(ctx).secretDigestOf(spec));
    if (before?.fingerprint === after.fingerprint) return { changed: false };
    await svc(ctx).apply(spec);
    return { changed: true };
  },

  requiredRole() {
    // Where events go is an admin's choice, as for registry webhooks.
    return 'admin';
  },

  async delete(ctx, name) {
    await svc(ctx).delete(name);
  },
};

import { Type } from 'typebox';
import { CapstanError } from '../../core/errors.js';
import type { RoutePlugin } from './index.js';

/** Liveness and readiness: `/healthz` answers while the process runs, `/readyz` when the DB answers too. */
export const healthRoutes: RoutePlugin = async (app, { platform }) => {
  app.get(
    '/healthz',
    { config: { access: 'public' }, schema: { tags: ['health'], response: { 200: Type.Object({ status: Type.Literal('ok') }) } } },
    async () => ({ status: 'ok' as const }),
  );
  app.get('/readyz', { config: { access: 'public' }, schema: { tags: ['health'] } }, async () => {
    try {
      await platform.db.kysely.selectFrom('capstan_migrations').select('name').limit(1).execute();
    } catch (err) {
      throw new CapstanError('CAPSTAN_DB_UNAVAILABLE', 'the metadata database did not answer', { cause: err });
    }
    return { status: 'ready', database: platform.db.dialect };
  });
};

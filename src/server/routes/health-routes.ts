import { Type } from 'typebox';
import { assertDatabaseReady } from '../../storage/migrator.js';
import type { RoutePlugin } from './index.js';

/** Liveness and readiness: `/healthz` answers while the process runs, `/readyz` when the DB answers too. */
export const healthRoutes: RoutePlugin = async (app, { platform }) => {
  app.get(
    '/healthz',
    { config: { access: 'public' }, schema: { tags: ['health'], response: { 200: Type.Object({ status: Type.Literal('ok') }) } } },
    async () => ({ status: 'ok' as const }),
  );
  app.get('/readyz', { config: { access: 'public' }, schema: { tags: ['health'] } }, async () => {
    await assertDatabaseReady(platform.db);
    return { status: 'ready', database: platform.db.dialect };
  });
};

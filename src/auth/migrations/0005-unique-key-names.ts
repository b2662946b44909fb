import { sql, type Kysely, type Migration } from 'kysely';

/**
 * API key names are unique among active keys (a revoked key's name may be used again), so
 * `DELETE /api/v1/keys/{name}` revokes exactly the key it reports. Older databases may hold active
 * duplicates: the oldest keeps the name, each later one becomes `<name>-<end of its id>`; every
 * key keeps working, since keys authenticate by their hash, not their name.
 */
export const uniqueKeyNames: Migration = {
  async up(db: Kysely<any>) {
    const rows = await db.selectFrom('api_keys').select(['id', 'name']).where('revoked_at', 'is', null).orderBy('created_at').orderBy('id').execute();
    const taken = new Set(rows.map((r) => r.name as string));
    const kept = new Set<string>();
    for (const row of rows as { id: string; name: string }[]) {
      if (!kept.has(row.name)) {
        kept.add(row.name);
        continue;
      }
      const suffix = `-${row.id.slice(-8).toLowerCase()}`;
      let renamed = `${row.name.slice(0, 63 - suffix.length)}${suffix}`;
      for (let n = 2; taken.has(renamed); n++) renamed = `${row.name.slice(0, 63 - suffix.length - String(n).length)}${suffix}${n}`;
      taken.add(renamed);
      await db.updateTable('api_keys').set({ name: renamed }).where('id', '=', row.id).execute();
    }
    await db.schema.createIndex('api_keys_active_name').on('api_keys').column('name').unique().where(sql.ref('revoked_at'), 'is', null).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropIndex('api_keys_active_name').execute();
  },
};

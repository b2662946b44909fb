import type { TypedColumn } from './feature-types.js';

/** The latest known row of one record id in one group version. */
export interface OnlineRecord {
  /** The encoded record id (`encodeEntityKey`). */
  entityKey: string;
  eventMs: number;
  createdMs: number;
  values: Record<string, unknown>;
}

/**
 * The online store port: latest value per record id and group version. `write` keeps a record only
 * when it is newer than the stored one (greater event time, or equal event time and created time
 * not older), so replays and out-of-order materializations never move a value back in time.
 * Adapters: SQLite (default) and Redis; one contract suite runs against both.
 */
export interface OnlineStore {
  readonly kind: 'sqlite' | 'redis';
  /** Writes records under `table` (`group@version`); returns how many stored values changed. */
  write(table: string, records: OnlineRecord[]): Promise<number>;
  /** The stored record per key, in order (undefined where there is none). */
  read(table: string, entityKeys: string[]): Promise<Array<OnlineRecord | undefined>>;
  /** Removes every record of a table. */
  drop(table: string): Promise<void>;
  close(): Promise<void>;
}

/** The online table name of a group version. */
export function onlineTable(group: string, version: number): string {
  return `${group}@${version}`;
}

/** The canonical text of one key value: int64 as its decimal digits, everything else as text. */
function keyPart(type: TypedColumn['type'], value: unknown): string {
  if (type === 'int64') return typeof value === 'bigint' ? value.toString() : String(value).trim();
  return String(value);
}

/** Encodes a record id from the join keys' values, identically for materialization and reads. */
export function encodeEntityKey(joinKeys: TypedColumn[], values: Record<string, unknown>): string {
  return JSON.stringify(joinKeys.map((k) => keyPart(k.type, values[k.name])));
}

/** True when `next` should replace `current` under the newer-wins rule. */
export function isNewer(next: { eventMs: number; createdMs: number }, current: { eventMs: number; createdMs: number } | undefined): boolean {
  return current === undefined || next.eventMs > current.eventMs || (next.eventMs === current.eventMs && next.createdMs >= current.createdMs);
}

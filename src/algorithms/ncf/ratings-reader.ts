import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { CapstanError } from '../../core/errors.js';

/** The ratings file layouts the NCF trainer reads. */
export const ratingsFormats = ['ml-100k', 'movielens-csv', 'ml-1m', 'csv'] as const;

/** One of `ratingsFormats`: MovieLens `u.data` (TSV), `ratings.csv`, `ratings.dat` (`::`), or generic CSV. */
export type RatingsFormat = (typeof ratingsFormats)[number];

/**
 * Interactions as read, before filtering: raw ids interned into `userKeys`/`itemKeys`, one entry per
 * row in file order. `rating`/`timestamp` are null when the file has no such column.
 */
export interface RawInteractions {
  userKeys: string[];
  itemKeys: string[];
  user: Int32Array;
  item: Int32Array;
  rating: Float32Array | null;
  timestamp: Float64Array | null;
  count: number;
  /** True when every id is an integer (always for MovieLens formats); id maps then hold numbers. */
  numericIds: boolean;
  format: RatingsFormat;
}

const INTEGER = /^-?\d+$/;
const USER_COLUMNS = new Set(['user', 'userid', 'user_id', 'uid', 'customer', 'customer_id']);
const ITEM_COLUMNS = new Set(['item', 'itemid', 'item_id', 'iid', 'movieid', 'movie_id', 'product', 'product_id']);
const RATING_COLUMNS = new Set(['rating', 'score', 'value']);
const TIME_COLUMNS = new Set(['timestamp', 'time', 'ts', 'date', 'datetime']);

/** Validates a `--format` value. */
export function parseRatingsFormat(value: string): RatingsFormat {
  if ((ratingsFormats as readonly string[]).includes(value)) return value as RatingsFormat;
  throw new CapstanError('CAPSTAN_NCF_FORMAT_UNKNOWN', `unknown ratings format "${value}"; use one of ${ratingsFormats.join(', ')}`, {
    fields: { format: value },
  });
}

/** Guesses the format from a file name: `u.data` → ml-100k, `*.dat` → ml-1m, `ratings.csv` → movielens-csv, else csv. */
export function inferRatingsFormat(file: string): RatingsFormat {
  const base = path.basename(file).toLowerCase();
  if (base === 'u.data' || base.endsWith('.data')) return 'ml-100k';
  if (base.endsWith('.dat')) return 'ml-1m';
  if (base === 'ratings.csv') return 'movielens-csv';
  if (base.endsWith('.parquet')) {
    throw new CapstanError('CAPSTAN_NCF_FORMAT_UNKNOWN', 'Parquet ratings are not supported; convert the file to CSV', { fields: { file: base } });
  }
  return 'csv';
}

/**
 * Reads a ratings file from disk; see `parseRatings`. `shown` is how errors name the file: by default
 * its base name (a pipeline step must not reveal the server's paths); the CLI passes the path as given.
 */
export function readRatingsFile(file: string, format: RatingsFormat, shown = path.basename(file)): RawInteractions {
  const st = statSync(file, { throwIfNoEntry: false });
  if (!st || !st.isFile()) {
    throw new CapstanError('CAPSTAN_NCF_FILE_NOT_FOUND', `no ratings file "${shown}"${st ? ' (it is not a regular file)' : ''}`, { fields: { file: shown } });
  }
  return parseRatings(readFileSync(file, 'utf8'), format);
}

/** Column positions of one layout; -1 means absent. */
interface Layout {
  separator: string;
  user: number;
  item: number;
  rating: number;
  timestamp: number;
  minColumns: number;
  numericIds: boolean;
}

/**
 * Parses ratings text. MovieLens formats need integer ids; the generic CSV takes any id, an optional
 * header naming `user,item[,rating][,timestamp]` columns (in any order), commas or tabs.
 */
export function parseRatings(text: string, format: RatingsFormat): RawInteractions {
  parseRatingsFormat(format);
  const lines = text.split(/\r?\n/);
  let first = 0;
  while (first < lines.length && lines[first].trim() === '') first++;
  if (first === lines.length) throw new CapstanError('CAPSTAN_NCF_FILE_EMPTY', 'the ratings file is empty');

  const { layout, headerLines } = detectLayout(lines[first], format);
  const userIndex = new Map<string, number>();
  const itemIndex = new Map<string, number>();
  const userKeys: string[] = [];
  const itemKeys: string[] = [];
  let cap = Math.max(16, lines.length);
  let user = new Int32Array(cap);
  let item = new Int32Array(cap);
  let rating: Float32Array | null = layout.rating >= 0 ? new Float32Array(cap) : null;
  let timestamp: Float64Array | null = layout.timestamp >= 0 ? new Float64Array(cap) : null;
  let count = 0;
  let allNumeric = true;

  for (let li = first + headerLines; li < lines.length; li++) {
    const line = lines[li];
    if (line.trim() === '') continue;
    const cols = splitRow(line, layout.separator);
    const lineNo = li + 1;
    if (cols.length < layout.minColumns) {
      throw new CapstanError('CAPSTAN_NCF_ROW_INVALID', `line ${lineNo}: expected at least ${layout.minColumns} columns, found ${cols.length}`, {
        fields: { line: lineNo },
      });
    }
    const u = cols[layout.user];
    const it = cols[layout.item];
    if (u === '' || it === '') throw new CapstanError('CAPSTAN_NCF_ROW_INVALID', `line ${lineNo}: empty user or item id`, { fields: { line: lineNo } });
    const uNum = INTEGER.test(u);
    const iNum = INTEGER.test(it);
    if (!(uNum && iNum)) {
      if (layout.numericIds) {
        const bad = uNum ? it : u;
        throw new CapstanError('CAPSTAN_NCF_ID_NOT_NUMERIC', `line ${lineNo}: id "${bad.slice(0, 40)}" is not an integer, which the ${format} format requires`, {
          fields: { line: lineNo },
        });
      }
      allNumeric = false;
    }
    if (count === cap) {
      cap *= 2;
      user = grow(user, cap);
      item = grow(item, cap);
      if (rating) rating = grow(rating, cap);
      if (timestamp) timestamp = grow(timestamp, cap);
    }
    let ui = userIndex.get(u);
    if (ui === undefined) {
      ui = userKeys.length;
      userIndex.set(u, ui);
      userKeys.push(u);
    }
    let ii = itemIndex.get(it);
    if (ii === undefined) {
      ii = itemKeys.length;
      itemIndex.set(it, ii);
      itemKeys.push(it);
    }
    user[count] = ui;
    item[count] = ii;
    if (rating) rating[count] = numberAt(cols, layout.rating, 'rating', lineNo);
    if (timestamp) timestamp[count] = numberAt(cols, layout.timestamp, 'timestamp', lineNo);
    count++;
  }
  if (count === 0) throw new CapstanError('CAPSTAN_NCF_NO_ROWS', 'the ratings file has a header but no interactions');
  return {
    userKeys,
    itemKeys,
    user: user.subarray(0, count),
    item: item.subarray(0, count),
    rating: rating ? rating.subarray(0, count) : null,
    timestamp: timestamp ? timestamp.subarray(0, count) : null,
    count,
    numericIds: layout.numericIds || allNumeric,
    format,
  };
}

function detectLayout(firstLine: string, format: RatingsFormat): { layout: Layout; headerLines: number } {
  switch (format) {
    case 'ml-100k':
      return { layout: { separator: '\t', user: 0, item: 1, rating: 2, timestamp: 3, minColumns: 4, numericIds: true }, headerLines: 0 };
    case 'ml-1m':
      return { layout: { separator: '::', user: 0, item: 1, rating: 2, timestamp: 3, minColumns: 4, numericIds: true }, headerLines: 0 };
    case 'movielens-csv': {
      const header = /^\s*"?userId"?\s*,/i.test(firstLine) ? 1 : 0;
      return { layout: { separator: ',', user: 0, item: 1, rating: 2, timestamp: 3, minColumns: 4, numericIds: true }, headerLines: header };
    }
    case 'csv': {
      const separator = firstLine.includes(',') || !firstLine.includes('\t') ? ',' : '\t';
      const cols = splitRow(firstLine, separator).map((c) => c.toLowerCase());
      const named = (names: Set<string>) => cols.findIndex((c) => names.has(c));
      const u = named(USER_COLUMNS);
      const i = named(ITEM_COLUMNS);
      if (u >= 0 && i >= 0) {
        const r = named(RATING_COLUMNS);
        const t = named(TIME_COLUMNS);
        const layout = { separator, user: u, item: i, rating: r, timestamp: t, minColumns: Math.max(u, i, r, t) + 1, numericIds: false };
        return { layout, headerLines: 1 };
      }
      const n = cols.length;
      if (n < 2) {
        throw new CapstanError('CAPSTAN_NCF_ROW_INVALID', 'line 1: a generic CSV needs at least the columns user,item', { fields: { line: 1 } });
      }
      const layout = { separator, user: 0, item: 1, rating: n >= 3 ? 2 : -1, timestamp: n >= 4 ? 3 : -1, minColumns: Math.min(n, 4), numericIds: false };
      return { layout, headerLines: 0 };
    }
  }
}

function splitRow(line: string, separator: string): string[] {
  const parts = line.split(separator);
  for (let k = 0; k < parts.length; k++) {
    let p = parts[k].trim();
    if (p.length >= 2 && p.startsWith('"') && p.endsWith('"')) p = p.slice(1, -1);
    parts[k] = p;
  }
  return parts;
}

function numberAt(cols: string[], at: number, what: string, lineNo: number): number {
  const raw = cols[at];
  const v = raw === '' ? NaN : Number(raw);
  if (Number.isFinite(v)) return v;
  if (what === 'timestamp') {
    const ms = Date.parse(raw);
    if (Number.isFinite(ms)) return ms / 1000;
  }
  throw new CapstanError('CAPSTAN_NCF_ROW_INVALID', `line ${lineNo}: ${what} "${raw.slice(0, 40)}" is not a number`, { fields: { line: lineNo } });
}

function grow<T extends Int32Array | Float32Array | Float64Array>(arr: T, cap: number): T {
  const next = new (arr.constructor as new (n: number) => T)(cap);
  next.set(arr);
  return next;
}

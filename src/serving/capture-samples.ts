import { CapstanError } from '../core/errors.js';
import type { ArtifactStore } from '../storage/artifacts/artifact-store.js';
import { captureKeyPrefix, type CaptureRecord } from './data-capture.js';

/** One captured invocation as read back: the record with the endpoint and the time it was captured. */
export type CaptureSample = CaptureRecord & { endpoint: string; time: string };

/** A page of captured invocations, newest first; `nextCursor` reads the following (older) page. */
export interface CaptureSamplePage {
  items: CaptureSample[];
  nextCursor: string | null;
}

/** Options of a capture read; both optional. */
export interface CaptureSampleQuery {
  /** Records per page, 1-200; default 20. */
  limit?: number;
  /** The `nextCursor` of the previous page; default the newest records. */
  cursor?: string;
}

function badCursor(cursor: string): CapstanError {
  return new CapstanError('CAPSTAN_REQUEST_INVALID', 'the cursor is not one a data capture page answered; start again without it', { fields: { field: 'cursor', cursor } });
}

/**
 * Reads an endpoint's captured invocations back from the artifact store, newest first. Capture
 * files are named by the time they were opened and never appended to, so sorting their keys orders
 * them; the cursor is the key of the file to continue in and how many of its records (from its
 * newest) were already answered. Records still buffered in the writer appear once their file is written.
 */
export async function readCaptureSamples(artifacts: ArtifactStore, endpoint: string, query: CaptureSampleQuery = {}): Promise<CaptureSamplePage> {
  const limit = query.limit ?? 20;
  if (!Number.isInteger(limit) || limit < 1 || limit > 200) {
    throw new CapstanError('CAPSTAN_REQUEST_INVALID', `limit must be an integer from 1 to 200, not ${limit}`, { fields: { field: 'limit', limit } });
  }
  const keys = (await artifacts.list(captureKeyPrefix(endpoint))).map((a) => a.key).filter((k) => k.endsWith('.jsonl')).sort().reverse();
  let start = 0;
  let skip = 0;
  if (query.cursor !== undefined) {
    const at = query.cursor.lastIndexOf('#');
    const key = query.cursor.slice(0, at);
    skip = Number(query.cursor.slice(at + 1));
    if (at < 0 || !key.startsWith(captureKeyPrefix(endpoint)) || !Number.isInteger(skip) || skip < 0) throw badCursor(query.cursor);
    // A file deleted since (retention) moves the cursor to the next older one.
    start = keys.findIndex((k) => k <= key);
    if (start < 0) return { items: [], nextCursor: null };
    if (keys[start] !== key) skip = 0;
  }
  const items: CaptureSample[] = [];
  for (let i = start; i < keys.length; i++) {
    const lines = (await artifacts.get(keys[i])).toString('utf8').split('\n').filter((l) => l.trim() !== '').reverse();
    const from = i === start ? skip : 0;
    for (let j = from; j < lines.length; j++) {
      if (items.length === limit) return { items, nextCursor: `${keys[i]}#${j}` };
      try {
        items.push(JSON.parse(lines[j]) as CaptureSample);
      } catch {
        // A line cut short by a crash mid-write is skipped rather than failing the page.
      }
    }
  }
  return { items, nextCursor: null };
}

import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { CapstanError } from '../../core/errors.js';
import { packagePath } from '../../core/model-manifest.js';
import { IdIndex, idList } from './id-index.js';
import { JsonTextWriter } from './json-text-writer.js';
// Types only: the handler runs in a model worker thread, which must not load the serving context.
import type { HandlerContext, HandlerFactory, InferenceHandler, InferenceResponse, Prepared, Tensors } from '../../serving/index.js';

/** Handler options an endpoint may set for `builtin:ncf-ranking`. */
export interface NcfRankingOptions {
  /** `error` (default): unknown users or items answer 400 naming them; `popularity`: rank them by training popularity. */
  unknownIds?: 'error' | 'popularity';
}

/** Per-request state between preprocess and postprocess. */
interface RankState {
  /** Single-user requests render `user`; mixed pair requests render `users`. */
  userJson: string | undefined;
  userJsonPerRow: string[] | undefined;
  /** Dense item per row (-1 for unknown), the raw item JSON per row, and rows the model scores. */
  itemJson: string[];
  /** Row index → position in the model batch, or -1 when scored without the model; absent when every row is a model row in order. */
  modelRow: Int32Array | undefined;
  /** Scores of rows not sent to the model (popularity fallback or 0 for unknown items); absent with modelRow. */
  fixed: Float32Array | undefined;
  k: number;
  fallback: boolean;
}

const MAX_LISTED = 20;

function bad(detail: string): CapstanError {
  return new CapstanError('CAPSTAN_SERVING_INVALID_INPUT', detail);
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);
const INDEX_BITS = 2 ** 20;

/**
 * Typed arrays reused by every request a handler renders. Each typed array over 64 bytes has its own
 * memory outside V8's heap, which a young-generation collection must sweep: allocated per request,
 * they made the model thread's collections the longest pauses in the serving path (decision 0037).
 * Render runs synchronously, so one set serves every request.
 */
export class RankScratch {
  score = new Float64Array(0);
  keys = new Float64Array(0);
  order = new Uint32Array(0);

  /** Grows every array to hold at least `n` entries. */
  reserve(n: number): void {
    if (this.score.length >= n) return;
    const size = Math.max(n, 2 * this.score.length, 128);
    this.score = new Float64Array(size);
    this.keys = new Float64Array(size);
    this.order = new Uint32Array(size);
  }
}

/**
 * Row indices ordered by descending score, ties by ascending index. Each float32 score becomes an
 * order-preserving 32-bit key combined with its index into one exact double, so a native numeric
 * sort does the work without calling a comparator per comparison. With `scratch`, the result is a
 * view of its arrays, valid until the next call.
 */
export function rankOrder(score: ArrayLike<number>, n: number, scratch?: RankScratch): ArrayLike<number> {
  if (n >= INDEX_BITS) {
    const order = Array.from({ length: n }, (_, i) => i);
    return order.sort((a, b) => score[b] - score[a] || a - b);
  }
  scratch?.reserve(n);
  const keys = scratch ? scratch.keys.subarray(0, n) : new Float64Array(n);
  for (let i = 0; i < n; i++) {
    F32[0] = score[i];
    const bits = U32[0];
    // The usual float-to-sortable-integer map (negatives inverted, positives get the top bit), then
    // flipped so that ascending keys mean descending scores.
    const ascending = bits & 0x80000000 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0;
    keys[i] = (0xffffffff - ascending) * INDEX_BITS + i;
  }
  keys.sort();
  const order = scratch ? scratch.order.subarray(0, n) : new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = keys[i] % INDEX_BITS;
  return order;
}

async function readJson(ctx: HandlerContext, role: string): Promise<unknown> {
  const file = ctx.manifest.assets[role];
  if (!file) throw new CapstanError('CAPSTAN_SERVING_MODEL_PACKAGE_INVALID', `model.json: assets.${role} is required by builtin:ncf-ranking`);
  try {
    return JSON.parse(await readFile(packagePath(ctx.dir, file), 'utf8'));
  } catch (err) {
    throw new CapstanError('CAPSTAN_SERVING_MODEL_PACKAGE_INVALID', `asset ${role} (${file}) is missing or not valid JSON`, { cause: err });
  }
}

/**
 * `builtin:ncf-ranking`: ranks items for a user with a NeuMF model over dense indices. Requests use raw
 * ids — `{"user":[u,u,…],"item":[i1,i2,…]}`, `{"user":u,"items":[…]}` or `{"user":u,"k":10}` (top-k over
 * every item the user has not interacted with in training) — and answer items ordered by score.
 */
export async function createNcfRankingHandler(ctx: HandlerContext): Promise<InferenceHandler<RankState>> {
  const users = new IdIndex(idList(await readJson(ctx, 'userIds')));
  const items = new IdIndex(idList(await readJson(ctx, 'itemIds')));
  const seen = (await readJson(ctx, 'userItems')) as unknown;
  const popularityRaw = ctx.manifest.assets.popularity ? ((await readJson(ctx, 'popularity')) as unknown) : [];
  const userItems: number[][] = Array.isArray(seen) ? (seen as number[][]) : idList(seen).map(() => []);
  if (!Array.isArray(seen) && seen && typeof seen === 'object') {
    for (const [k, v] of Object.entries(seen as Record<string, number[]>)) userItems[Number(k)] = v;
  }
  const popularity = new Float32Array(items.size);
  const popList = idList(popularityRaw) as number[];
  let maxPop = 0;
  for (let i = 0; i < items.size; i++) maxPop = Math.max(maxPop, (popularity[i] = Number(popList[i] ?? 0)));
  // Popularity scores are counts scaled to [0, 1], so a fallback ranking reads like a model's scores.
  if (maxPop > 0) for (let i = 0; i < popularity.length; i++) popularity[i] /= maxPop;
  const options = ctx.options as NcfRankingOptions;
  const fallbackOn = options.unknownIds === 'popularity';
  const [userInput, itemInput] = [ctx.inputNames.includes('user') ? 'user' : ctx.inputNames[0], ctx.inputNames.includes('item') ? 'item' : ctx.inputNames[1]];
  const scoreOutput = ctx.outputNames.includes('score') ? 'score' : ctx.outputNames[0];
  // Dense indices are small non-negative ints: on a little-endian host an int64 is its low 32-bit
  // word plus a zero word, so feeds are filled through an Int32Array view without creating BigInts.
  const littleEndian = os.endianness() === 'LE';
  const fillInt64 = (out: BigInt64Array, values: Int32Array, rows: number): BigInt64Array => {
    if (littleEndian) {
      const words = new Int32Array(out.buffer, out.byteOffset, 2 * rows);
      for (let i = 0; i < rows; i++) words[2 * i] = values[i];
    } else for (let i = 0; i < rows; i++) out[i] = BigInt(values[i]);
    return out;
  };
  const int64Of = (values: Int32Array, rows: number): BigInt64Array => fillInt64(new BigInt64Array(rows), values, rows);
  // Both feeds share one buffer: one allocation outside the heap per request instead of two.
  const int64Pair = (users: Int32Array, items: Int32Array, rows: number): [BigInt64Array, BigInt64Array] => {
    const buffer = new ArrayBuffer(16 * rows);
    return [fillInt64(new BigInt64Array(buffer, 0, rows), users, rows), fillInt64(new BigInt64Array(buffer, 8 * rows, rows), items, rows)];
  };
  /** A request's dense user and item columns, as two views of one buffer. */
  const densePair = (n: number): [Int32Array, Int32Array] => {
    const both = new Int32Array(2 * n);
    return [both.subarray(0, n), both.subarray(n)];
  };
  const feedsOf = (users: Int32Array, items: Int32Array, rows: number) => {
    const [u, it] = int64Pair(users, items, rows);
    return { [userInput]: { type: 'int64' as const, data: u, dims: [rows] }, [itemInput]: { type: 'int64' as const, data: it, dims: [rows] } };
  };

  // Built field by field: V8 allocated the spread form in old space (decision 0034).
  const rankState = (base: Omit<RankState, 'modelRow' | 'fixed' | 'fallback'>, modelRow: Int32Array | undefined, fixed: Float32Array | undefined, fallback: boolean): RankState => ({
    userJson: base.userJson,
    userJsonPerRow: base.userJsonPerRow,
    itemJson: base.itemJson,
    k: base.k,
    modelRow,
    fixed,
    fallback,
  });

  // unknownUsers and unknownItems list every unknown id of the request, so both empty means every row is known.
  function prepare(userDense: Int32Array, itemDense: Int32Array, state: Omit<RankState, 'modelRow' | 'fixed' | 'fallback'>, unknownUsers: unknown[], unknownItems: unknown[]): Prepared<RankState> {
    if (!fallbackOn && (unknownUsers.length || unknownItems.length)) {
      const parts: string[] = [];
      const list = (xs: unknown[]) => `${JSON.stringify(xs.slice(0, MAX_LISTED))}${xs.length > MAX_LISTED ? ` and ${xs.length - MAX_LISTED} more` : ''}`;
      if (unknownUsers.length) parts.push(`unknown users ${list(unknownUsers)}`);
      if (unknownItems.length) parts.push(`unknown items ${list(unknownItems)}`);
      throw new CapstanError('CAPSTAN_SERVING_UNKNOWN_IDS', `${parts.join('; ')}: the model was not trained on them`, {
        fields: { unknownUsers: unknownUsers.slice(0, MAX_LISTED), unknownItems: unknownItems.slice(0, MAX_LISTED) },
      });
    }
    const n = itemDense.length;
    if (unknownUsers.length === 0 && unknownItems.length === 0) {
      return { rows: n, state: rankState(state, undefined, undefined, false), feeds: feedsOf(userDense, itemDense, n) };
    }
    const modelRow = new Int32Array(n);
    const fixed = new Float32Array(n);
    let rows = 0;
    let fallback = false;
    for (let r = 0; r < n; r++) {
      if (userDense[r] >= 0 && itemDense[r] >= 0) modelRow[r] = rows++;
      else {
        modelRow[r] = -1;
        fallback = true;
        fixed[r] = userDense[r] < 0 && itemDense[r] >= 0 ? popularity[itemDense[r]] : 0;
      }
    }
    const full = rankState(state, modelRow, fixed, fallback);
    if (rows === 0) return { response: render(undefined, full) };
    let ud = userDense;
    let id = itemDense;
    if (rows < n) {
      ud = new Int32Array(rows);
      id = new Int32Array(rows);
      for (let r = 0; r < n; r++) {
        const m = modelRow[r];
        if (m >= 0) {
          ud[m] = userDense[r];
          id[m] = itemDense[r];
        }
      }
    }
    return { rows, state: full, feeds: feedsOf(ud, id, rows) };
  }

  // Responses are written into one reused buffer; render runs synchronously, so one writer serves every request.
  const writer = new JsonTextWriter();
  const scratch = new RankScratch();

  function render(scores: ArrayLike<number> | undefined, s: RankState): InferenceResponse {
    const n = s.itemJson.length;
    scratch.reserve(n);
    const score = scratch.score;
    const { modelRow, fixed } = s;
    if (modelRow === undefined) for (let r = 0; r < n; r++) score[r] = scores![r];
    else for (let r = 0; r < n; r++) score[r] = modelRow[r] >= 0 ? scores![modelRow[r]] : fixed![r];
    const order = rankOrder(score, n, scratch);
    const k = Math.min(s.k, n);
    const w = writer;
    if (s.userJsonPerRow) {
      w.raw('{"users":[');
      for (let j = 0; j < k; j++) {
        if (j > 0) w.char(44);
        w.raw(s.userJsonPerRow[order[j]]);
      }
      w.raw('],');
    } else {
      w.raw('{"user":');
      w.raw(s.userJson!);
      w.char(44);
    }
    w.raw('"items":[');
    for (let j = 0; j < k; j++) {
      if (j > 0) w.char(44);
      w.raw(s.itemJson[order[j]]);
    }
    w.raw('],"scores":[');
    for (let j = 0; j < k; j++) {
      if (j > 0) w.char(44);
      w.score(score[order[j]]);
    }
    w.char(93);
    if (s.fallback) w.raw(',"fallback":"popularity"');
    w.char(125);
    return { body: w.take(), contentType: 'application/json' };
  }

  function parseK(value: unknown, max: number): number {
    if (value === undefined) return max;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw bad('k must be a positive integer');
    return value;
  }

  return {
    preprocess(request) {
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(request.body);
      } catch {
        throw new CapstanError('CAPSTAN_SERVING_MALFORMED_JSON', 'the request body is not valid JSON');
      }
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw bad('expected a JSON object with "user" and "item", "items" or "k"');
      const user = body.user;
      const candidates = body.item ?? body.items;
      const unknownUsers: unknown[] = [];
      const unknownItems: unknown[] = [];
      if (Array.isArray(user)) {
        // The source team's pair form: user[i] and item[i] score one row.
        if (!Array.isArray(candidates)) throw bad('"user" is a list, so "item" must be a list of the same length');
        if (user.length !== candidates.length) throw bad(`"user" has ${user.length} entries but "item" has ${candidates.length}`);
        if (user.length === 0) throw bad('"item" must not be empty');
        const n = user.length;
        const [userDense, itemDense] = densePair(n);
        const itemJson = new Array<string>(n);
        let same = true;
        for (let r = 0; r < n; r++) {
          const ud = users.dense(user[r]);
          if (ud < 0 && !unknownUsers.includes(user[r])) unknownUsers.push(user[r]);
          userDense[r] = ud;
          const id = itemDense[r] = items.dense(candidates[r]);
          if (id < 0) unknownItems.push(candidates[r]);
          itemJson[r] = id >= 0 ? items.json[id] : JSON.stringify(candidates[r]);
          if (user[r] !== user[0]) same = false;
        }
        const k = parseK(body.k, n);
        return prepare(userDense, itemDense, {
          userJson: same ? JSON.stringify(user[0]) : undefined,
          userJsonPerRow: same ? undefined : user.map((u) => JSON.stringify(u)),
          itemJson,
          k,
        }, unknownUsers, unknownItems);
      }
      if (typeof user !== 'number' && typeof user !== 'string') throw bad('"user" must be a user id or a list of user ids');
      const ud = users.dense(user);
      if (ud < 0) unknownUsers.push(user);
      let itemDense: Int32Array;
      let userDense: Int32Array;
      let itemJson: string[];
      if (candidates === undefined) {
        // Top-k over every item the user did not interact with in training.
        if (body.k === undefined) throw bad('send "items" to rank, or "k" for the top-k items');
        const known = new Uint8Array(items.size);
        if (ud >= 0) for (const d of userItems[ud] ?? []) known[d] = 1;
        const list: number[] = [];
        for (let d = 0; d < items.size; d++) if (!known[d]) list.push(d);
        itemDense = Int32Array.from(list);
        userDense = new Int32Array(itemDense.length);
        itemJson = list.map((d) => items.json[d]);
      } else {
        if (!Array.isArray(candidates) || candidates.length === 0) throw bad('"items" must be a non-empty list of item ids');
        [userDense, itemDense] = densePair(candidates.length);
        itemJson = new Array<string>(candidates.length);
        for (let r = 0; r < candidates.length; r++) {
          const id = itemDense[r] = items.dense(candidates[r]);
          if (id < 0) unknownItems.push(candidates[r]);
          itemJson[r] = id >= 0 ? items.json[id] : JSON.stringify(candidates[r]);
        }
      }
      userDense.fill(ud);
      return prepare(userDense, itemDense, { userJson: JSON.stringify(user), userJsonPerRow: undefined, itemJson, k: parseK(body.k, itemDense.length) }, unknownUsers, unknownItems);
    },

    postprocess(outputs, state) {
      const out = outputs[scoreOutput];
      if (!out) throw new CapstanError('CAPSTAN_SERVING_MODEL_ERROR', `the model returned no ${scoreOutput} output`);
      return render(out.data as Float32Array, state);
    },

    tensorsIn(inputs: Tensors): Tensors {
      // Open Inference Protocol callers send raw ids too; map them like the JSON forms do.
      const mapped: Tensors = {};
      for (const [name, index] of [[userInput, users], [itemInput, items]] as const) {
        const t = inputs[name];
        if (!t) throw bad(`input ${name} is required`);
        const indices = new Int32Array(t.data.length);
        const unknown: unknown[] = [];
        for (let i = 0; i < t.data.length; i++) {
          const raw = Number(t.data[i]);
          const d = index.dense(raw);
          if (d < 0) unknown.push(raw);
          indices[i] = Math.max(d, 0);
        }
        const dense = int64Of(indices, indices.length);
        if (unknown.length) {
          throw new CapstanError('CAPSTAN_SERVING_UNKNOWN_IDS', `unknown ${name} ids ${JSON.stringify(unknown.slice(0, MAX_LISTED))}`, { fields: { [`unknown_${name}`]: unknown.slice(0, MAX_LISTED) } });
        }
        mapped[name] = { type: 'int64', data: dense, dims: t.dims };
      }
      return mapped;
    },
  };
}

/** The factory serving's handler registry loads for `builtin:ncf-ranking` (registered by the composition root). */
export const createHandler: HandlerFactory = createNcfRankingHandler as HandlerFactory;

/** Adam settings (PyTorch defaults apart from the learning rate). */
export interface AdamSettings {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
}

/** Adam with β1 0.9, β2 0.999, ε 1e-8 and the given learning rate. */
export function adamSettings(lr: number): AdamSettings {
  return { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
}

/** Optimiser state arrays that may live in shared memory, so several threads can update disjoint parts. */
export interface AdamState {
  m: Float32Array[];
  v: Float32Array[];
}

/** Fresh zeroed moments for arrays of the given lengths, allocated by `alloc` (default: ordinary memory). */
export function adamState(lengths: number[], alloc: (n: number) => Float32Array = (n) => new Float32Array(n)): AdamState {
  return { m: lengths.map(alloc), v: lengths.map(alloc) };
}

/**
 * Plain Adam over dense parameter arrays (the MLP tower and predict layer), as torch.optim.Adam.
 * With `parts > 1` each thread updates its own slice of every array, summing the gradients of all
 * threads.
 */
export class DenseAdam {
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];

  constructor(
    private readonly params: Float32Array[],
    private readonly s: AdamSettings,
    state: AdamState = adamState(params.map((p) => p.length)),
    private readonly part = 0,
    private readonly parts = 1,
  ) {
    this.m = state.m;
    this.v = state.v;
  }

  /** Applies step `t` (1-based) with `grads[i]` for `params[i]`; `more` holds other threads' gradients. */
  step(t: number, grads: Float32Array[], more: Float32Array[][] = []): void {
    const { lr, beta1, beta2, eps } = this.s;
    const stepSize = lr / (1 - beta1 ** t);
    const invSqrtBc2 = 1 / Math.sqrt(1 - beta2 ** t);
    const c1 = 1 - beta1;
    const c2 = 1 - beta2;
    for (let k = 0; k < this.params.length; k++) {
      const p = this.params[k];
      const g = grads[k];
      const g2 = more.length > 0 ? more[0][k] : null;
      const m = this.m[k];
      const v = this.v[k];
      const lo = Math.floor((p.length * this.part) / this.parts);
      const hi = Math.floor((p.length * (this.part + 1)) / this.parts);
      for (let i = lo; i < hi; i++) {
        const gi = g2 ? g[i] + g2[i] : g[i];
        const mi = beta1 * m[i] + c1 * gi;
        const vi = beta2 * v[i] + c2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] -= (stepSize * mi) / (Math.sqrt(vi) * invSqrtBc2 + eps);
      }
    }
  }
}

/** One embedding matrix that a `SparseRowAdam` updates. */
export interface EmbeddingTable {
  weights: Float32Array;
  dim: number;
}

/**
 * Adam for embedding matrices that touches only the rows a batch uses, yet follows dense Adam: a row
 * skipped for g steps would, under dense Adam, keep moving on its decaying momentum. When the row is
 * next used (or at `flush`), that drift is applied in one go — m/(√v+ε) times the scalar
 * Σⱼ (β1/√β2)ʲ·√(1−β2ⁿ)/(1−β1ⁿ) — and m, v are decayed by β1ᵍ, β2ᵍ. The only approximation is
 * treating ε as constant relative to √v over the gap, which moves results by far less than noise.
 * Several tables indexed by the same ids (GMF and MLP embeddings of users) share one instance.
 */
export class SparseRowAdam {
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];
  private readonly agg: Float32Array[];
  private readonly lastStep: Int32Array;
  private readonly slotOf: Int32Array;
  private readonly rows: Int32Array;
  private readonly ratio: number;
  private qTable: Float64Array | null = null;
  private unique = 0;
  /** Steps after which √(1−β2ⁿ)/(1−β1ⁿ) equals 1 to double precision (β2ⁿ < 1e-17). */
  private static readonly tableSize = 40000;

  /**
   * `maxRows` bounds the distinct rows one step can touch (the batch size). `shared` passes moments
   * and last-update steps in shared memory; with `parts > 1` this instance only updates rows with
   * `row % parts === part`, so threads never write the same row.
   */
  constructor(
    private readonly tables: EmbeddingTable[],
    numRows: number,
    maxRows: number,
    private readonly s: AdamSettings,
    shared?: AdamState & { lastStep: Int32Array },
    private readonly part = 0,
    private readonly parts = 1,
  ) {
    this.m = shared?.m ?? tables.map((t) => new Float32Array(t.weights.length));
    this.v = shared?.v ?? tables.map((t) => new Float32Array(t.weights.length));
    this.lastStep = shared?.lastStep ?? new Int32Array(numRows);
    this.agg = tables.map((t) => new Float32Array(maxRows * t.dim));
    this.slotOf = new Int32Array(numRows).fill(-1);
    this.rows = new Int32Array(maxRows);
    this.ratio = s.beta1 / Math.sqrt(s.beta2);
  }

  /** Moments and last-update steps, for handing to other threads' instances. */
  get state(): AdamState & { lastStep: Int32Array } {
    return { m: this.m, v: this.v, lastStep: this.lastStep };
  }

  /** One step for a whole batch in one segment: `accumulate` then `apply`. */
  step(t: number, ids: Int32Array, count: number, grads: Float32Array[], strides: number[], offsets: number[]): void {
    this.accumulate(ids, count, grads, strides, offsets);
    this.apply(t);
  }

  /**
   * Adds a batch segment's gradients: `ids[b]` is sample b's row; table k's gradient for sample b is
   * `grads[k][b·strides[k] + offsets[k] + d]`. Repeated rows are summed; rows of other parts skipped.
   */
  accumulate(ids: Int32Array, count: number, grads: Float32Array[], strides: number[], offsets: number[]): void {
    const { slotOf, rows, tables, agg, parts, part } = this;
    let unique = this.unique;
    for (let b = 0; b < count; b++) {
      const r = ids[b];
      if (parts > 1 && r % parts !== part) continue;
      let slot = slotOf[r];
      if (slot < 0) {
        slot = unique++;
        slotOf[r] = slot;
        rows[slot] = r;
        for (let k = 0; k < tables.length; k++) agg[k].fill(0, slot * tables[k].dim, (slot + 1) * tables[k].dim);
      }
      for (let k = 0; k < tables.length; k++) {
        const dim = tables[k].dim;
        const a = agg[k];
        const g = grads[k];
        const go = b * strides[k] + offsets[k];
        const ao = slot * dim;
        for (let d = 0; d < dim; d++) a[ao + d] += g[go + d];
      }
    }
    this.unique = unique;
  }

  /** Applies step `t` to every row accumulated since the last apply. */
  apply(t: number): void {
    const { slotOf, rows, tables, agg } = this;
    const unique = this.unique;
    this.unique = 0;
    const { lr, beta1, beta2, eps } = this.s;
    const stepSize = lr / (1 - beta1 ** t);
    const invSqrtBc2 = 1 / Math.sqrt(1 - beta2 ** t);
    const c1 = 1 - beta1;
    const c2 = 1 - beta2;
    for (let slot = 0; slot < unique; slot++) {
      const r = rows[slot];
      slotOf[r] = -1;
      const s = this.lastStep[r];
      this.lastStep[r] = t;
      // Drift of the skipped steps s+1..t-1 and this step's update, fused into one pass per row.
      const gap = s === 0 ? 0 : t - 1 - s;
      const drift = gap > 0 ? lr * this.driftSum(s, gap) : 0;
      const driftEps = eps * Math.sqrt(1 - beta2 ** (s + 1));
      const d1 = gap > 0 ? beta1 ** gap : 1;
      const d2 = gap > 0 ? beta2 ** gap : 1;
      for (let k = 0; k < tables.length; k++) {
        const dim = tables[k].dim;
        const w = tables[k].weights;
        const m = this.m[k];
        const v = this.v[k];
        const a = agg[k];
        const o = r * dim;
        const ao = slot * dim;
        for (let d = 0; d < dim; d++) {
          let mi = m[o + d];
          let vi = v[o + d];
          let wi = w[o + d];
          if (gap > 0) {
            wi -= (drift * mi) / (Math.sqrt(vi) + driftEps);
            mi *= d1;
            vi *= d2;
          }
          const gi = a[ao + d];
          mi = beta1 * mi + c1 * gi;
          vi = beta2 * vi + c2 * gi * gi;
          m[o + d] = mi;
          v[o + d] = vi;
          w[o + d] = wi - (stepSize * mi) / (Math.sqrt(vi) * invSqrtBc2 + eps);
        }
      }
    }
  }

  /**
   * Brings every row (of every part) up to step `t`, so the weights equal dense Adam's after t steps;
   * call it while no other thread updates the tables (before evaluating or exporting).
   */
  flush(t: number): void {
    for (let r = 0; r < this.lastStep.length; r++) {
      this.catchUp(r, t);
      this.lastStep[r] = Math.max(this.lastStep[r], t);
    }
  }

  /** Applies the zero-gradient steps lastStep+1..upTo to row r. */
  private catchUp(r: number, upTo: number): void {
    const s = this.lastStep[r];
    const gap = upTo - s;
    if (s === 0 || gap <= 0) return;
    const { lr, beta1, beta2, eps } = this.s;
    const drift = lr * this.driftSum(s, gap);
    const sqrtBc2 = Math.sqrt(1 - beta2 ** (s + 1));
    const d1 = beta1 ** gap;
    const d2 = beta2 ** gap;
    for (let k = 0; k < this.tables.length; k++) {
      const dim = this.tables[k].dim;
      const w = this.tables[k].weights;
      const m = this.m[k];
      const v = this.v[k];
      const o = r * dim;
      for (let d = 0; d < dim; d++) {
        const mi = m[o + d];
        w[o + d] -= (drift * mi) / (Math.sqrt(v[o + d]) + eps * sqrtBc2);
        m[o + d] = mi * d1;
        v[o + d] *= d2;
      }
    }
  }

  /**
   * Σ_{j=1..gap} rʲ·a(s+j) with a(n) = √(1−β2ⁿ)/(1−β1ⁿ), in O(1): Q(n) = Σ_{j≥1} rʲ·a(n+j) is tabulated
   * by the recurrence Q(n) = r·(a(n+1) + Q(n+1)), and the finite sum is Q(s) − r^gap·Q(s+gap).
   * Beyond the table a(n) is 1 to double precision and the sum is geometric.
   */
  private driftSum(s: number, gap: number): number {
    const r = this.ratio;
    const q = this.driftTable();
    if (s >= q.length - 1) return (r * (1 - r ** gap)) / (1 - r);
    const rg = r ** gap;
    const tail = s + gap < q.length ? q[s + gap] : r / (1 - r);
    return q[s] - rg * tail;
  }

  private driftTable(): Float64Array {
    if (this.qTable) return this.qTable;
    const { beta1, beta2 } = this.s;
    const r = this.ratio;
    const n = SparseRowAdam.tableSize;
    const a = (k: number) => Math.sqrt(1 - beta2 ** k) / (1 - beta1 ** k);
    const q = new Float64Array(n);
    q[n - 1] = (a(n) * r) / (1 - r);
    for (let k = n - 2; k >= 0; k--) q[k] = r * (a(k + 1) + q[k + 1]);
    this.qTable = q;
    return q;
  }
}

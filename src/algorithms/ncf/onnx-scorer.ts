import * as ort from 'onnxruntime-node';

/**
 * Scores dense (user, item) pairs with an exported NeuMF graph in ONNX Runtime — the same runtime
 * serving uses, so evaluation measures the artifact that ships.
 */
export class OnnxNcfScorer {
  private constructor(private readonly session: ort.InferenceSession) {}

  /** Loads `model.onnx` from a path. */
  static async load(file: string): Promise<OnnxNcfScorer> {
    return new OnnxNcfScorer(await ort.InferenceSession.create(file));
  }

  /** Probabilities for each pair, computed in chunks of `chunk` pairs. */
  async score(users: Int32Array, items: Int32Array, chunk = 20000): Promise<Float32Array> {
    const out = new Float32Array(users.length);
    for (let start = 0; start < users.length; start += chunk) {
      const n = Math.min(chunk, users.length - start);
      const u = BigInt64Array.from(users.subarray(start, start + n), (v) => BigInt(v));
      const i = BigInt64Array.from(items.subarray(start, start + n), (v) => BigInt(v));
      const res = await this.session.run({ user: new ort.Tensor('int64', u, [n]), item: new ort.Tensor('int64', i, [n]) });
      out.set(res.score.data as Float32Array, start);
    }
    return out;
  }

  /** Releases the session. */
  async close(): Promise<void> {
    await this.session.release();
  }
}

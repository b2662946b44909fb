// The benchmark's yardstick: a bare node:http server running the same NCF package with
// onnxruntime-node in the same thread — no framework, no worker hand-off, no metrics. Written only
// for bench/serving.bench.ts; prints its URL as one JSON line.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import * as ort from 'onnxruntime-node';

const dir = process.argv[2];
const session = await ort.InferenceSession.create(path.join(dir, 'model.onnx'), { intraOpNumThreads: 1, interOpNumThreads: 1 });
const userIds = JSON.parse(readFileSync(path.join(dir, 'user-ids.json'), 'utf8')) as (number | string)[];
const itemIds = JSON.parse(readFileSync(path.join(dir, 'item-ids.json'), 'utf8')) as (number | string)[];
const users = new Map(userIds.map((id, d) => [String(id), d]));
const items = new Map(itemIds.map((id, d) => [String(id), d]));

async function rank(body: { user: unknown; items?: unknown[]; item?: unknown[] }): Promise<string> {
  const candidates = (body.items ?? body.item) as unknown[];
  const user = Array.isArray(body.user) ? body.user[0] : body.user;
  const u = users.get(String(user));
  if (u === undefined || !Array.isArray(candidates)) throw new Error('bad request');
  const n = candidates.length;
  const ut = new BigInt64Array(n).fill(BigInt(u));
  const it = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    const d = items.get(String(candidates[i]));
    if (d === undefined) throw new Error('bad request');
    it[i] = BigInt(d);
  }
  const out = await session.run({ user: new ort.Tensor('int64', ut, [n]), item: new ort.Tensor('int64', it, [n]) });
  const scores = out.score.data as Float32Array;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  return JSON.stringify({ user, items: order.map((i) => candidates[i]), scores: order.map((i) => Math.round(scores[i] * 1e6) / 1e6) });
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    rank(JSON.parse(Buffer.concat(chunks).toString('utf8'))).then(
      (text) => res.writeHead(200, { 'content-type': 'application/json' }).end(text),
      () => res.writeHead(400).end(),
    );
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}` })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));

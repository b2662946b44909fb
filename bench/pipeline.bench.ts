// Pipeline scheduling overhead: a chain of 20 no-op steps (`true`) on the local executor, SQLite metadata DB.
// A gap is one step's end to the next step's start (from the stored step timestamps).
// Usage: npm run bench:pipeline  — the last output line is JSON {"steps":20,"median_gap_ms":…,"p95_gap_ms":…,"total_s":…}.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '../src/core/logger.js';
import { pipeline } from '../src/pipelines/builder.js';
import { objectSource } from '../src/pipelines/pipeline-source.js';
import { PipelineService } from '../src/pipelines/pipeline-service.js';
import { FileArtifactStore } from '../src/storage/artifacts/file-artifact-store.js';
import { openDatabase } from '../src/storage/database.js';

const STEPS = 20;
const dir = mkdtempSync(path.join(os.tmpdir(), 'capstan-bench-pl-'));
const db = await openDatabase(`sqlite://${path.join(dir, 'capstan.db')}`);
const artifacts = await FileArtifactStore.open(path.join(dir, 'artifacts'));
const service = new PipelineService({ db, artifacts, logger: silentLogger() }, { local: { workRoot: path.join(dir, 'work') } });
try {
  const b = pipeline('bench-chain');
  for (let i = 0; i < STEPS; i++) b.step({ name: `s${i}`, type: 'processing', command: 'true', cache: false, ...(i ? { depends_on: [`s${i - 1}`] } : {}) });
  await service.apply(objectSource(b.toDocument(), dir));
  const t0 = performance.now();
  const started = await service.start('bench-chain');
  const exec = await service.wait(started.id);
  const totalS = (performance.now() - t0) / 1000;
  if (exec.state !== 'succeeded') throw new Error(`execution ${exec.state}: ${exec.error}`);
  const gaps: number[] = [];
  for (let i = 1; i < exec.steps.length; i++) gaps.push(Date.parse(exec.steps[i].startedAt!) - Date.parse(exec.steps[i - 1].finishedAt!));
  const durations = exec.steps.map((s) => s.durationMs!);
  const sorted = [...gaps].sort((a, b2) => a - b2);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
  const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  console.log(`steps: ${STEPS}  gaps (ms): ${gaps.join(' ')}`);
  const at = (iso: string | null) => (iso ? Date.parse(iso) - Date.parse(exec.createdAt) : null);
  console.log(`timeline (ms after queueing): execution start ${at(exec.startedAt)}, first step start ${at(exec.steps[0].startedAt)}, last step end ${at(exec.steps[STEPS - 1].finishedAt)}, execution end ${at(exec.finishedAt)}`);
  console.log(`step durations (ms, spawn + staging + exit): median ${[...durations].sort((a, b2) => a - b2)[Math.floor(durations.length / 2)]}`);
  console.log(JSON.stringify({ steps: STEPS, median_gap_ms: median, p95_gap_ms: pct(95), total_s: Number(totalS.toFixed(3)) }));
} finally {
  await service.close();
  await artifacts.close();
  await db.close();
  rmSync(dir, { recursive: true, force: true });
}

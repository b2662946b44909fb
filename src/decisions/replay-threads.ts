import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ReplayedRecord } from './replay-one.js';

/**
 * Worker threads that replay pages of snapshots in parallel (parsing and rule evaluation are CPU work;
 * the main thread keeps reading pages). Under tsx the worker loads its TypeScript source through tsx,
 * as the NCF training threads do.
 */
export class ReplayThreads {
  private readonly workers: Worker[];
  private readonly waiting = new Map<number, { resolve: (r: ReplayedRecord[]) => void; reject: (e: Error) => void }>();
  private seq = 0;
  private next = 0;

  constructor(definition: unknown, count: number) {
    this.workers = Array.from({ length: count }, () => spawn(definition));
    for (const w of this.workers) {
      w.on('message', (m: { seq: number; results?: ReplayedRecord[]; error?: string }) => {
        const p = this.waiting.get(m.seq);
        this.waiting.delete(m.seq);
        if (m.error !== undefined) p?.reject(new Error(m.error));
        else p?.resolve(m.results!);
      });
      w.on('error', (err) => {
        for (const p of this.waiting.values()) p.reject(err);
        this.waiting.clear();
      });
    }
  }

  /** Replays one page on the next thread. */
  replay(rows: { id: string; snapshot: string }[]): Promise<ReplayedRecord[]> {
    const seq = this.seq++;
    const worker = this.workers[this.next++ % this.workers.length];
    return new Promise((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      worker.postMessage({ seq, rows });
    });
  }

  /** Stops the threads. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

function spawn(definition: unknown): Worker {
  const here = fileURLToPath(import.meta.url);
  const ext = path.extname(here);
  const file = path.join(path.dirname(here), `replay-worker${ext}`);
  if (ext !== '.ts') return new Worker(file, { workerData: { definition } });
  const url = pathToFileURL(file).href;
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then(({ tsImport }) => tsImport(${JSON.stringify(url)}, ${JSON.stringify(url)}));`;
  return new Worker(bootstrap, { eval: true, execArgv: [], workerData: { definition } });
}

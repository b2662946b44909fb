// A replay thread: compiles the version once, then replays the pages of snapshots it is sent.
import { parentPort, workerData } from 'node:worker_threads';
import { compileUseCase } from './compile-usecase.js';
import { replayRows, topological } from './replay-one.js';

const uc = compileUseCase((workerData as { definition: unknown }).definition);
const order = topological(uc.tasks);
parentPort!.on('message', (msg: { seq: number; rows: { id: string; snapshot: string }[] }) => {
  void replayRows(uc, order, msg.rows).then(
    (results) => parentPort!.postMessage({ seq: msg.seq, results }),
    (err: unknown) => parentPort!.postMessage({ seq: msg.seq, error: String((err as Error)?.message ?? err) }),
  );
});

// The entry of every model worker thread: loads one model package into an engine and answers the
// gateway's messages. Everything slow or fragile about a model (loading, pre/post-processing,
// inference, a crash) stays in this thread, never on the gateway's event loop.
import { parentPort, workerData } from 'node:worker_threads';
import { CapstanError, isCapstanError } from '../../core/errors.js';
import { registerBuiltinHandler } from '../handlers/handler-registry.js';
import type { Engine, EngineSpec } from './engine.js';
import { createHttpEngine } from './http-runtime.js';
import { createJsEngine } from './js-runtime.js';
import { createOnnxEngine } from './onnx-runtime.js';
import type { TensorData } from './tensors.js';
import { MessageOutbox, unpack } from './message-outbox.js';
import { transferables, type FromWorker, type Parcel, type ToWorker, type WireError, type WorkerAnswer, type WorkerInit } from './worker-protocol.js';

function toWire(err: unknown): WireError {
  const causeOf = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));
  if (isCapstanError(err)) {
    return { code: err.code, detail: err.message, fields: err.fields, ...(err.cause !== undefined ? { cause: causeOf(err.cause) } : {}) };
  }
  return { code: 'CAPSTAN_SERVING_MODEL_ERROR', detail: 'the model failed while handling the request', cause: causeOf(err) };
}

async function createEngine(spec: EngineSpec): Promise<Engine> {
  switch (spec.manifest.framework) {
    case 'onnx':
      return createOnnxEngine(spec);
    case 'js':
      return createJsEngine(spec);
    case 'http':
      return createHttpEngine(spec);
    case 'python':
      throw new CapstanError('CAPSTAN_INTERNAL', 'python models run in their own process, not in a worker thread');
  }
}

const port = parentPort!;
const post = (m: FromWorker) => port.postMessage(m);
// Answers finished in one turn go back together.
const answers = new MessageOutbox<WorkerAnswer>((parcel, transfer) => port.postMessage(parcel, transfer), transferables);

const init = workerData as WorkerInit;
for (const [name, url] of Object.entries(init.handlerModules)) registerBuiltinHandler(name, url);
try {
  const engine = await createEngine(init.spec);
  const handle = (m: ToWorker) => {
    if (m.t === 'invoke') {
      engine.invoke(m).then(
        (r) => answers.push({ t: 'result', id: m.id, body: r.body, contentType: r.contentType, modelMs: r.modelMs }),
        (err) => answers.push({ t: 'error', id: m.id, error: toWire(err) }),
      );
    } else if (m.t === 'infer') {
      engine.infer(m.inputs).then(
        (r) => {
          // Output tensors move to the gateway without a second copy. ORT's own buffers cannot be
          // detached and slices of a batch share one, so each gets its own buffer first.
          for (const [name, t] of Object.entries(r.outputs)) r.outputs[name] = { ...t, data: t.data.slice() as TensorData['data'] };
          answers.push({ t: 'tensors', id: m.id, outputs: r.outputs, modelMs: r.modelMs });
        },
        (err) => answers.push({ t: 'error', id: m.id, error: toWire(err) }),
      );
    }
  };
  port.on('message', (parcel: Parcel<ToWorker>) => {
    for (const m of unpack(parcel)) handle(m);
  });
  post({ t: 'ready', inputs: engine.inputs, outputs: engine.outputs });
  // Beats only get out while the event loop is free: a model stuck in synchronous code goes silent.
  setInterval(() => post({ t: 'beat' }), init.heartbeatMs);
} catch (err) {
  post({ t: 'failed', error: toWire(err) });
}

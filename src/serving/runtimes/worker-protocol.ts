import type { TensorSpec } from '../../core/model-manifest.js';
import type { EngineSpec } from './engine.js';
import type { Tensors } from './tensors.js';

/** Gateway → worker: one invocation (kept small: it is structured-cloned per request). */
export interface InvokeMessage {
  t: 'invoke';
  id: number;
  body: string;
  contentType: string;
  customAttributes?: string;
}

/** Gateway → worker: one Open Inference Protocol tensor request. */
export interface InferMessage {
  t: 'infer';
  id: number;
  inputs: Tensors;
}

/** Messages the gateway sends. */
export type ToWorker = InvokeMessage | InferMessage;

/**
 * What crosses the thread boundary in one postMessage: one message, or every message one side
 * produced in one turn of its event loop. Each postMessage wakes the other thread and costs a
 * structured clone, a lock and an event on the far side, so messages of one turn travel together.
 */
export type Parcel<M> = M | Batch<M>;

/** Several messages in one postMessage. */
export interface Batch<M> {
  t: 'batch';
  messages: M[];
}

/** An error as it crosses the thread boundary: a catalogue code, a client-safe detail, and a log line. */
export interface WireError {
  code: string;
  detail: string;
  fields?: Record<string, unknown>;
  /** Server-side description of the cause, for the gateway's log only. */
  cause?: string;
}

/** What a worker thread is started with. */
export interface WorkerInit {
  spec: EngineSpec;
  /** How often the worker proves its event loop is free; silence for a whole timeout means it is stuck. */
  heartbeatMs: number;
  /** Built-in handlers registered outside serving: name → module URL this thread can import. */
  handlerModules: Record<string, string>;
}

/** Worker → gateway messages. */
export type FromWorker =
  | { t: 'ready'; inputs: TensorSpec[]; outputs: TensorSpec[] }
  | { t: 'beat' }
  | { t: 'failed'; error: WireError }
  | { t: 'result'; id: number; body: string; contentType: string; modelMs: number }
  | { t: 'tensors'; id: number; outputs: Tensors; modelMs: number }
  | { t: 'error'; id: number; error: WireError };

/** A worker's answer to one request: the only messages a worker sends in batches. */
export type WorkerAnswer = Extract<FromWorker, { id: number }>;

/** The buffers a message moves to the other thread instead of copying (tensor data). */
export function transferables(message: ToWorker | FromWorker): ArrayBuffer[] {
  const tensors = message.t === 'infer' ? message.inputs : message.t === 'tensors' ? message.outputs : undefined;
  return tensors ? Object.values(tensors).map((t) => t.data.buffer as ArrayBuffer) : [];
}

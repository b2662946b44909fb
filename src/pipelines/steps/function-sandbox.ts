import { Worker } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { passedEnvironment } from './step-environment.js';

/** How one handler call ended inside its thread. */
export type SandboxOutcome =
  | { kind: 'result'; value: unknown }
  | { kind: 'threw'; name: string; code?: string | number; message: string }
  | { kind: 'invalid'; message: string }
  | { kind: 'timeout' }
  | { kind: 'cancelled' }
  | { kind: 'crashed'; message: string };

/** One handler call: the module file, the export's name, the event, and the limits. */
export interface SandboxCall {
  file: string;
  /** The module as the pipeline names it, for messages. */
  module: string;
  handler: string;
  event: unknown;
  timeoutMs: number;
  signal: AbortSignal;
  /** Receives each `context.log(line)` of the handler. */
  log: (line: string) => void;
  /** The thread's `process.env`; default: only the host variables command steps get (`DEFAULT_PASS_ENV`). */
  env?: Record<string, string>;
}

/**
 * The code each handler thread runs. It is plain JavaScript evaluated as the worker's script, so it
 * needs no build step and behaves the same whether Capstan runs from sources or compiled output.
 * `.ts` modules are imported through tsx's API when tsx is installed.
 */
const THREAD_SCRIPT = `
const { parentPort, workerData } = require('node:worker_threads');
const { file, fileUrl, module, handler, event, tsxApi } = workerData;
const post = (m) => parentPort.postMessage(m);
(async () => {
  let mod;
  try {
    if (/\\.(c|m)?ts$/.test(file)) {
      if (!tsxApi) return post({ kind: 'invalid', message: 'cannot load ' + module + ': TypeScript function modules need tsx installed beside Capstan (npm i -D tsx)' });
      const { tsImport } = await import(tsxApi);
      mod = await tsImport(fileUrl, fileUrl);
    } else {
      mod = await import(fileUrl);
    }
  } catch (err) {
    return post({ kind: 'invalid', message: 'cannot load ' + module + ': ' + String((err && err.message) || err).split('\\n')[0] });
  }
  const fn = mod[handler] ?? (mod.default && mod.default[handler]);
  if (typeof fn !== 'function') return post({ kind: 'invalid', message: module + ' exports no function "' + handler + '"' });
  // A handler may await a promise that never settles; without a listening port the thread would exit
  // at once. The parent ends the thread (answer, timeout or cancel), so the listener is never removed.
  parentPort.on('message', () => {});
  let value;
  try {
    value = await fn(event, { log: (line) => post({ kind: 'log', line: String(line) }) });
  } catch (err) {
    const e = err instanceof Error ? err : undefined;
    const code = e && (typeof e.code === 'string' || typeof e.code === 'number') ? e.code : undefined;
    return post({ kind: 'threw', name: e ? e.name : 'a value', code, message: e ? e.message : String(err) });
  }
  if (value !== undefined && (value === null || typeof value !== 'object' || Array.isArray(value))) {
    return post({ kind: 'invalid', message: 'the handler must return an object or nothing' });
  }
  let plain;
  try {
    plain = JSON.parse(JSON.stringify(value ?? {}));
  } catch (err) {
    return post({ kind: 'invalid', message: 'the handler returned a value that is not JSON: ' + err.message });
  }
  post({ kind: 'result', value: plain });
})();
`;

let tsxApi: { url: string | undefined } | undefined;

/** Where tsx's API lives, resolved once, from here: the worker's own resolution starts from the module copy. */
function tsxApiUrl(): string | undefined {
  if (!tsxApi) {
    try {
      tsxApi = { url: import.meta.resolve('tsx/esm/api') };
    } catch {
      tsxApi = { url: undefined };
    }
  }
  return tsxApi.url;
}

/**
 * Calls an exported handler in its own worker thread: a timeout or a cancel terminates the thread,
 * so a hung handler cannot keep running, and the module's memory goes with the thread.
 */
export function callInSandbox(call: SandboxCall): Promise<SandboxOutcome> {
  return new Promise((resolve) => {
    const worker = new Worker(THREAD_SCRIPT, {
      eval: true,
      execArgv: [],
      // Without this the thread would see a copy of the server's whole environment (secrets included).
      env: call.env ?? passedEnvironment(),
      workerData: { file: call.file, module: call.module, fileUrl: pathToFileURL(call.file).href, handler: call.handler, event: call.event, tsxApi: tsxApiUrl() },
    });
    let settled = false;
    const finish = (outcome: SandboxOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      call.signal.removeEventListener('abort', onAbort);
      void worker.terminate();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ kind: 'timeout' }), call.timeoutMs);
    const onAbort = () => finish({ kind: 'cancelled' });
    if (call.signal.aborted) return onAbort();
    call.signal.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: SandboxOutcome | { kind: 'log'; line: string }) => {
      if (m.kind === 'log') call.log(m.line);
      else finish(m);
    });
    worker.on('error', (err) => finish({ kind: 'crashed', message: err.message }));
    worker.on('exit', (code) => finish({ kind: 'crashed', message: `the handler's thread exited with code ${code} before answering` }));
  });
}

import { CapstanError } from '../core/errors.js';
import { normalizeDtype } from '../core/tensor-dtype.js';
import type { ModelManifest } from '../core/model-manifest.js';
import type { TensorSpec } from './registry-service.js';

function packageInvalid(detail: string, fields: Record<string, unknown> = {}): CapstanError {
  return new CapstanError('CAPSTAN_REGISTRY_PACKAGE_INVALID', detail, { fields });
}

interface GraphValue {
  name: string;
  isTensor: boolean;
  type?: string;
}

/** Compares one side of the declared signature with the graph's values: same names, and dtypes where both say. */
function compare(side: 'inputs' | 'outputs', declared: readonly TensorSpec[], graph: readonly GraphValue[], entry: string): void {
  // A manifest that declares nothing on a side leaves it to the graph (serving reads names from the model).
  if (declared.length === 0) return;
  const names = new Set(graph.map((g) => g.name));
  const declaredNames = new Set(declared.map((d) => d.name));
  const missing = declared.filter((d) => !names.has(d.name)).map((d) => d.name);
  const undeclared = graph.filter((g) => !declaredNames.has(g.name)).map((g) => g.name);
  if (missing.length || undeclared.length) {
    const parts = [missing.length ? `declares ${missing.join(', ')} which the graph does not have` : '', undeclared.length ? `does not declare ${undeclared.join(', ')} which the graph has` : ''].filter(Boolean);
    throw packageInvalid(`model.json: signature.${side} does not match ${entry}: it ${parts.join(' and ')} (the graph's ${side}: ${graph.map((g) => g.name).join(', ')})`, { [side]: graph.map((g) => g.name) });
  }
  for (const d of declared) {
    const g = graph.find((x) => x.name === d.name)!;
    const want = normalizeDtype(d.dtype);
    if (d.dtype !== undefined && g.isTensor && g.type && want !== g.type) {
      throw packageInvalid(`model.json: signature.${side} ${d.name} is declared ${d.dtype}, the graph has ${g.type}`, { [side]: d.name });
    }
  }
}

/**
 * Checks an ONNX package's model file at registration, so a package that can never serve is refused
 * before it gets a version: ONNX Runtime must parse the graph, and the declared signature's input and
 * output names (and dtypes, where given) must be the graph's. Other frameworks are not loaded here: a
 * js module would run its code in the registry's process, and an http model lives elsewhere.
 */
export async function checkModelFile(manifest: ModelManifest, read: () => Promise<Buffer>): Promise<void> {
  if (manifest.framework !== 'onnx' || !manifest.entry) return;
  const entry = manifest.entry;
  const bytes = await read();
  // Loaded on first use: most commands never register an ONNX model.
  const ort = await import('onnxruntime-node');
  let session: Awaited<ReturnType<typeof ort.InferenceSession.create>>;
  try {
    session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled', intraOpNumThreads: 1, interOpNumThreads: 1 });
  } catch (err) {
    // ORT's parse errors name no server path when given bytes; keep only their first line.
    throw new CapstanError('CAPSTAN_REGISTRY_PACKAGE_INVALID', `${entry} is not a model ONNX Runtime can load: ${String((err as Error).message ?? err).split('\n')[0].slice(0, 300)}`, {
      cause: err,
      fields: { entry },
    });
  }
  try {
    const values = (meta: readonly { name: string; isTensor: boolean; type?: unknown }[]): GraphValue[] => meta.map((m) => ({ name: m.name, isTensor: m.isTensor, ...(m.isTensor ? { type: String(m.type) } : {}) }));
    compare('inputs', manifest.signature.inputs, values(session.inputMetadata), entry);
    compare('outputs', manifest.signature.outputs, values(session.outputMetadata), entry);
  } finally {
    await session.release();
  }
}

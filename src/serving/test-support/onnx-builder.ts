import protobuf from 'protobufjs';

/**
 * A minimal ONNX writer for tests and benchmarks: just the messages a small feed-forward graph
 * needs, encoded with protobufjs from field numbers of onnx.proto (IR version 8, opset 13).
 */

const ONNX_DESCRIPTOR = {
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            irVersion: { type: 'int64', id: 1 },
            producerName: { type: 'string', id: 2 },
            graph: { type: 'GraphProto', id: 7 },
            opsetImport: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 },
          },
        },
        OperatorSetIdProto: { fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } } },
        GraphProto: {
          fields: {
            node: { rule: 'repeated', type: 'NodeProto', id: 1 },
            name: { type: 'string', id: 2 },
            initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
            input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 },
            output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
          },
        },
        NodeProto: {
          fields: {
            input: { rule: 'repeated', type: 'string', id: 1 },
            output: { rule: 'repeated', type: 'string', id: 2 },
            name: { type: 'string', id: 3 },
            opType: { type: 'string', id: 4 },
            attribute: { rule: 'repeated', type: 'AttributeProto', id: 5 },
          },
        },
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            f: { type: 'float', id: 2 },
            i: { type: 'int64', id: 3 },
            ints: { rule: 'repeated', type: 'int64', id: 8 },
            type: { type: 'int32', id: 20 },
          },
        },
        TensorProto: {
          fields: {
            dims: { rule: 'repeated', type: 'int64', id: 1 },
            dataType: { type: 'int32', id: 2 },
            name: { type: 'string', id: 8 },
            rawData: { type: 'bytes', id: 9 },
          },
        },
        ValueInfoProto: { fields: { name: { type: 'string', id: 1 }, type: { type: 'TypeProto', id: 2 } } },
        TypeProto: { fields: { tensorType: { type: 'TypeTensor', id: 1 } } },
        TypeTensor: { fields: { elemType: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } } },
        TensorShapeProto: { fields: { dim: { rule: 'repeated', type: 'Dimension', id: 1 } } },
        Dimension: { fields: { dimValue: { type: 'int64', id: 1 }, dimParam: { type: 'string', id: 2 } } },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(ONNX_DESCRIPTOR);
const ModelProto = root.lookupType('onnx.ModelProto');

/** ONNX element types used here. */
export const ONNX_FLOAT = 1;
/** ONNX int64 element type. */
export const ONNX_INT64 = 7;

/** One graph node: op type, inputs, outputs and int/float attributes. */
export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, number | number[]>;
  /** Attribute names whose number is a float rather than an int. */
  floatAttrs?: string[];
}

/** A graph input or output: name, element type and shape (-1 or a name for a dynamic dimension). */
export interface OnnxValue {
  name: string;
  type: number;
  shape: (number | string)[];
}

/** A constant tensor in the graph. */
export interface OnnxInitializer {
  name: string;
  dims: number[];
  data: Float32Array | BigInt64Array;
}

/** Encodes a graph into ONNX model bytes. */
export function encodeOnnxModel(graph: { nodes: OnnxNode[]; inputs: OnnxValue[]; outputs: OnnxValue[]; initializers: OnnxInitializer[] }): Uint8Array {
  const valueInfo = (v: OnnxValue) => ({
    name: v.name,
    type: {
      tensorType: {
        elemType: v.type,
        shape: { dim: v.shape.map((d) => (typeof d === 'string' ? { dimParam: d } : d < 0 ? { dimParam: `${v.name}_n` } : { dimValue: d })) },
      },
    },
  });
  const message = ModelProto.fromObject({
    irVersion: 8,
    producerName: 'capstan-test',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'g',
      node: graph.nodes.map((n, i) => ({
        name: `n${i}`,
        opType: n.op,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs ?? {}).map(([name, value]) =>
          Array.isArray(value)
            ? { name, ints: value, type: 7 }
            : n.floatAttrs?.includes(name)
              ? { name, f: value, type: 1 }
              : { name, i: value, type: 2 },
        ),
      })),
      initializer: graph.initializers.map((t) => ({
        name: t.name,
        dims: t.dims,
        dataType: t.data instanceof Float32Array ? ONNX_FLOAT : ONNX_INT64,
        rawData: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
      })),
      input: graph.inputs.map(valueInfo),
      output: graph.outputs.map(valueInfo),
    },
  });
  return ModelProto.encode(message).finish();
}

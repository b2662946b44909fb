import { CapstanError } from '../core/errors.js';
import type { BatchJobOptions } from './batch-options.js';
import { compileJsonPath } from './json-path.js';

/** A record ready for the model, or why it cannot be sent. */
export type PreparedRecord = { ok: true; body: string; parsed: unknown } | { ok: false; reason: string };

/** Splits one CSV line into fields (RFC 4180 quoting); undefined when its quotes do not balance. */
export function splitCsvLine(line: string): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let field = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) return undefined;
        field += line.slice(i, q);
        if (line[q + 1] === '"') {
          field += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      if (i < line.length && line[i] !== ',') return undefined;
      out.push(field);
    } else {
      const c = line.indexOf(',', i);
      const field = c < 0 ? line.slice(i) : line.slice(i, c);
      if (field.includes('"')) return undefined;
      out.push(field);
      i = c < 0 ? line.length : c;
    }
    if (i >= line.length) return out;
    i++; // the comma
    if (i === line.length) {
      out.push('');
      return out;
    }
  }
}

/** Joins fields into one CSV line, quoting where needed. */
export function csvLine(fields: unknown[]): string {
  return fields
    .map((f) => {
      const s = f === null || f === undefined ? '' : typeof f === 'object' ? JSON.stringify(f) : String(f);
      return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
    })
    .join(',');
}

/**
 * How a job turns input records into model requests and model answers into output lines: parsing
 * (JSON Lines or CSV), the input filter, the join with the input and the output filter.
 */
export interface RecordCodec {
  /** The content type the model receives. */
  readonly modelContentType: string;
  /** Parses and filters one input record. */
  prepare(text: string): PreparedRecord;
  /** The output line for a record and the model's answer; throws when the answer cannot be rendered. */
  render(record: PreparedRecord & { ok: true }, answer: { body: string; contentType: string }): string;
}

function parseAnswer(answer: { body: string; contentType: string }, csv: boolean): unknown {
  const body = answer.body.replace(/\r?\n$/, '');
  if (/json/.test(answer.contentType)) return JSON.parse(body);
  if (csv || /csv/.test(answer.contentType)) return splitCsvLine(body) ?? body;
  return body;
}

/** Builds the codec of a job's options (the filters were validated when the job was created). */
export function recordCodec(options: BatchJobOptions): RecordCodec {
  const csv = options.contentType === 'text/csv';
  const inputFilter = compileJsonPath(options.inputFilter);
  const outputFilter = compileJsonPath(options.outputFilter);
  const identityIn = options.inputFilter === '$';
  const plainOut = options.outputFilter === '$' && options.joinSource === 'None';
  return {
    modelContentType: csv ? 'text/csv' : 'application/json',
    prepare(text) {
      if (csv) {
        const fields = splitCsvLine(text);
        if (!fields) return { ok: false, reason: 'malformed CSV: unbalanced quotes' };
        if (identityIn) return { ok: true, body: text, parsed: fields };
        const picked = inputFilter(fields);
        if (picked === undefined) return { ok: false, reason: `input filter ${options.inputFilter} selects nothing` };
        return { ok: true, body: csvLine(Array.isArray(picked) ? picked : [picked]), parsed: fields };
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (err) {
        return { ok: false, reason: `malformed JSON: ${(err as Error).message}` };
      }
      if (identityIn) return { ok: true, body: text, parsed };
      const picked = inputFilter(parsed);
      if (picked === undefined) return { ok: false, reason: `input filter ${options.inputFilter} selects nothing` };
      return { ok: true, body: JSON.stringify(picked), parsed };
    },
    render(record, answer) {
      if (plainOut) {
        const body = answer.body.replace(/\r?\n$/, '');
        return body.includes('\n') ? JSON.stringify(parseAnswer(answer, csv)) : body;
      }
      const out = parseAnswer(answer, csv);
      if (csv) {
        const joined = options.joinSource === 'Input' ? [...(record.parsed as string[]), ...(Array.isArray(out) ? out : [out])] : Array.isArray(out) ? out : [out];
        const picked = outputFilter(joined);
        if (picked === undefined) throw new CapstanError('CAPSTAN_BATCH_FILTER_INVALID', `output filter ${options.outputFilter} selects nothing`);
        return csvLine(Array.isArray(picked) ? picked : [picked]);
      }
      let joined: unknown = out;
      if (options.joinSource === 'Input') {
        const input = record.parsed;
        joined = input !== null && typeof input === 'object' && !Array.isArray(input) ? { ...(input as object), SageMakerOutput: out } : [input, out];
      }
      const picked = outputFilter(joined);
      if (picked === undefined) throw new CapstanError('CAPSTAN_BATCH_FILTER_INVALID', `output filter ${options.outputFilter} selects nothing`);
      return JSON.stringify(picked);
    },
  };
}

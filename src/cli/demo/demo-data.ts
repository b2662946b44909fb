import { readFileSync } from 'node:fs';
import path from 'node:path';
import { synthCsv, synthesize } from '../../algorithms/ncf/index.js';
import { CapstanError } from '../../core/errors.js';
import { fsReason } from '../../core/file-errors.js';

/** The interactions file the demo drops under the watched prefix. */
export interface DemoDataset {
  /** File name; the NCF reader infers the format from it (ratings.csv, u.data, ratings.dat, *.csv). */
  fileName: string;
  content: Buffer;
  /** What it is, for the progress output. */
  description: string;
}

/** Options for the synthetic dataset; defaults sized so the demo trains in about a minute on 2 cores. */
export interface SynthDatasetOptions {
  /** Default 1000. */
  users?: number;
  /** Default 1500. */
  items?: number;
  /** Default 50000. */
  interactions?: number;
  /** Default 42: the same seed gives the same file, so a second demo run hits the step cache. */
  seed?: number;
}

/** A synthetic interactions CSV with latent structure (`user,item,rating,timestamp`). */
export function synthDataset(options: SynthDatasetOptions = {}): DemoDataset {
  const users = options.users ?? 1000;
  const items = options.items ?? 1500;
  const interactions = options.interactions ?? 50_000;
  const data = synthesize({ users, items, interactions, seed: options.seed ?? 42 });
  return {
    fileName: 'interactions.csv',
    content: Buffer.from(synthCsv(data)),
    description: `synthetic interactions: ${users} users, ${items} items, ${interactions} interactions`,
  };
}

/** A ratings file the user downloaded (MovieLens u.data, ratings.csv, ratings.dat or a generic CSV). */
export function fileDataset(file: string): DemoDataset {
  let content: Buffer;
  try {
    content = readFileSync(file);
  } catch (err) {
    throw new CapstanError('CAPSTAN_NCF_FILE_NOT_FOUND', `cannot read ${file}: ${fsReason(err)}`, { cause: err, fields: { path: file } });
  }
  return { fileName: path.basename(file), content, description: `${path.basename(file)} (${(content.length / 1e6).toFixed(1)} MB)` };
}

/** Movie titles by raw movie id from a MovieLens movies.csv (`movieId,title,genres`, titles may be quoted). */
export function readMovieTitles(file: string): Map<string, string> {
  const titles = new Map<string, string>();
  const lines = readFileSync(file, 'utf8').split(/\r?\n/);
  for (const line of lines.slice(1)) {
    if (!line) continue;
    const comma = line.indexOf(',');
    const id = line.slice(0, comma);
    const rest = line.slice(comma + 1);
    let title: string;
    if (rest.startsWith('"')) {
      const end = rest.indexOf('",', 1);
      title = rest.slice(1, end < 0 ? undefined : end).replace(/""/g, '"');
    } else {
      title = rest.slice(0, rest.lastIndexOf(','));
    }
    titles.set(id, title);
  }
  return titles;
}

import { autocannon, type LoadOptions, type LoadResult } from './autocannon.js';
import { log } from './log.js';

/** One measured load run after an optional warm-up run with the same options; logs the summary to stderr under `name`. */
export async function measureLoad(name: string, url: string, options: LoadOptions & { seconds: number; warmupSeconds?: number }): Promise<LoadResult> {
  const { warmupSeconds = 0, ...load } = options;
  const rate = load.rate === undefined ? '' : ` at an offered ${load.rate} req/s`;
  if (warmupSeconds > 0) {
    log(`${name}${rate}: warm-up ${warmupSeconds} s …`);
    await autocannon(url, { ...load, seconds: warmupSeconds });
  }
  log(`${name}${rate}: measuring ${load.seconds} s with ${load.connections} connections …`);
  const r = await autocannon(url, load);
  log(`${name}${rate}: ${r.reqPerSec.toFixed(0)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, errors ${r.errors}, non-2xx ${r.non2xx}, total ${r.total}`);
  return r;
}

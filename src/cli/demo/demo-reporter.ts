import type { StepRecord } from '../../pipelines/index.js';
import { stepLine } from '../step-progress.js';
import type { UserRecommendations } from './demo-recommendations.js';

const EPOCH = /Epoch=(\d+);\s*HR=([0-9.]+);\s*NDCG=([0-9.]+);\s*Loss=([0-9.]+);/;

/**
 * Live progress of the demo for a person: phases, each step's state as it changes, training epochs
 * with a bar per epoch, and the recommendations. Writes to stderr when stdout carries `--json`.
 */
export class DemoReporter {
  private readonly epochs: { epoch: number; hr: number; ndcg: number; loss: number }[] = [];

  constructor(private readonly out: NodeJS.WritableStream) {}

  private write(line: string): void {
    this.out.write(`${line}\n`);
  }

  /** A new phase of the story. */
  phase(text: string): void {
    this.write(`\n● ${text}`);
  }

  /** A detail line under the current phase. */
  info(text: string): void {
    this.write(`  ${text}`);
  }

  /** A step changed state. */
  step(step: StepRecord): void {
    this.write(`  ${stepLine(step, ['hr@10', 'ndcg@10'])}`);
    if (step.name === 'train' && step.state === 'succeeded' && this.epochs.length > 0) this.chart();
  }

  /** A log line of a step; training epochs are shown as they arrive, other lines only when they matter. */
  logLine(step: string, line: string): void {
    const m = line.startsWith('Final:') ? null : EPOCH.exec(line);
    if (m) {
      const e = { epoch: Number(m[1]), hr: Number(m[2]), ndcg: Number(m[3]), loss: Number(m[4]) };
      this.epochs.push(e);
      this.write(`      epoch ${String(e.epoch).padStart(2)}  HR@10 ${e.hr.toFixed(4)}  NDCG@10 ${e.ndcg.toFixed(4)}  loss ${e.loss.toFixed(4)}`);
      return;
    }
    if (/ItemPop|Prepared|Evaluation:|registered|^Final:/i.test(line)) this.write(`      ${step}: ${line}`);
  }

  /** HR@10 per epoch as horizontal bars: quicker to read than a column of numbers. */
  private chart(): void {
    const max = Math.max(...this.epochs.map((e) => e.hr), 1e-9);
    this.write('      HR@10 by epoch');
    for (const e of this.epochs) this.write(`      ${String(e.epoch).padStart(3)} ${'█'.repeat(Math.max(1, Math.round((e.hr / max) * 40)))} ${e.hr.toFixed(4)}`);
  }

  /** The endpoint's answers. */
  recommendations(recs: Record<string, UserRecommendations>): void {
    this.phase('Recommendations from the live endpoint (source team request: {"user":[u,…],"item":[i,…]})');
    for (const [user, r] of Object.entries(recs)) {
      this.info(`user ${user} — top ${r.items.length} of ${r.candidates} candidates in ${r.latencyMs} ms`);
      r.items.forEach((it, i) => this.info(`  ${i + 1}. ${it.title ? `${it.title} (item ${it.item})` : `item ${it.item}`}  score ${it.score.toFixed(4)}`));
    }
  }
}

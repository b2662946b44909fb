/** One shell command of a doc, where it is, and whether it keeps running (`capstan up`). */
export interface DocCommand {
  text: string;
  line: number;
  background: boolean;
}

/**
 * The commands of every ```sh block, in order. A block preceded by `<!-- doc-test: skip … -->` is not
 * run; one preceded by `<!-- doc-test: background … -->` holds commands that keep running until the
 * end. Lines ending in `\` continue; full-line `#` comments are dropped.
 */
export function docCommands(markdown: string): DocCommand[] {
  const lines = markdown.split('\n');
  const out: DocCommand[] = [];
  let marker: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const m = /^<!--\s*doc-test:\s*(\w+)/.exec(lines[i]);
    if (m) {
      marker = m[1];
      continue;
    }
    if (lines[i].trim() !== '```sh') continue;
    const blockMarker = marker;
    marker = undefined;
    let pending: { text: string; line: number } | undefined;
    for (i++; i < lines.length && lines[i].trim() !== '```'; i++) {
      const text = lines[i];
      if (!pending && (text.trim() === '' || text.trim().startsWith('#'))) continue;
      const part = text.replace(/\\$/, '').trim();
      pending = pending ? { text: `${pending.text} ${part}`, line: pending.line } : { text: part, line: i + 1 };
      if (!text.endsWith('\\')) {
        if (blockMarker !== 'skip') out.push({ ...pending, background: blockMarker === 'background' });
        pending = undefined;
      }
    }
  }
  return out;
}

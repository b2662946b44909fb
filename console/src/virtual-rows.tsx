import { useEffect, useState, type ReactNode } from 'react';

/**
 * A scrolling window over `count` fixed-height rows: only the rows in view (plus a few either side)
 * are in the DOM, so a table of 100,000 rows costs what one of 30 does. `renderRow` draws row i
 * (or a placeholder while its page loads); `onRange` says which rows are in view, to fetch them.
 */
export function VirtualRows({ count, rowHeight, height, renderRow, onRange, testId }: {
  count: number;
  rowHeight: number;
  height: number;
  renderRow: (index: number) => ReactNode;
  onRange?: (first: number, last: number) => void;
  testId?: string;
}) {
  const [top, setTop] = useState(0);
  const overscan = 8;
  const first = Math.max(0, Math.floor(top / rowHeight) - overscan);
  const last = Math.min(count - 1, Math.ceil((top + height) / rowHeight) + overscan);
  useEffect(() => onRange?.(first, last), [first, last, onRange]);
  const rows: ReactNode[] = [];
  for (let i = first; i <= last; i++) {
    rows.push(
      <div key={i} className="vrow" data-row={i} style={{ position: 'absolute', top: i * rowHeight, height: rowHeight, left: 0, right: 0 }}>
        {renderRow(i)}
      </div>,
    );
  }
  return (
    <div className="vscroll" data-testid={testId} style={{ height, overflowY: 'auto', position: 'relative' }} onScroll={(e) => setTop(e.currentTarget.scrollTop)}>
      <div style={{ height: count * rowHeight, position: 'relative' }}>{rows}</div>
    </div>
  );
}

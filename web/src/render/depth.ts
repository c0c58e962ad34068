/**
 * The depth chart: cumulative size against price, bids stepping down to the left of the mid, asks up to
 * the right, over the levels the book holds.
 */
import type { BookState, Level } from '../market/book-state.ts';
import { fitCanvas, THEME } from './colors.ts';

function steps(levels: readonly Level[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let c = 0;
  for (const l of levels) {
    c += l.s;
    out.push([l.p, c]);
  }
  return out;
}

export function drawDepth(canvas: HTMLCanvasElement, book: BookState | undefined): void {
  const fit = fitCanvas(canvas);
  if (fit === null) return;
  const { ctx, w, h } = fit;
  ctx.fillStyle = THEME.panel;
  ctx.fillRect(0, 0, w, h);
  if (book === undefined || book.empty) return;
  const bids = steps(book.levels('bids'));
  const asks = steps(book.levels('asks'));
  const bb = bids[0]?.[0];
  const ba = asks[0]?.[0];
  if (bb === undefined && ba === undefined) return;
  const mid = bb !== undefined && ba !== undefined ? (bb + ba) / 2 : (bb ?? ba ?? 0);
  // Symmetric price window around the mid, wide enough for the deeper side.
  const reach = Math.max(
    bids.length > 0 ? mid - (bids[bids.length - 1]?.[0] ?? mid) : 0,
    asks.length > 0 ? (asks[asks.length - 1]?.[0] ?? mid) - mid : 0,
    Math.abs(mid) * 1e-6,
  );
  const lo = mid - reach;
  const hi = mid + reach;
  const maxCum = Math.max(bids[bids.length - 1]?.[1] ?? 0, asks[asks.length - 1]?.[1] ?? 0) || 1;
  const pad = 18;
  const x = (p: number): number => ((p - lo) / (hi - lo)) * w;
  const y = (c: number): number => h - pad - (c / maxCum) * (h - pad * 2);

  ctx.strokeStyle = THEME.grid;
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(x(mid), 0);
  ctx.lineTo(x(mid), h - pad);
  ctx.stroke();

  const area = (pts: Array<[number, number]>, color: string, fill: string): void => {
    if (pts.length === 0) return;
    ctx.beginPath();
    const first = pts[0] as [number, number];
    ctx.moveTo(x(first[0]), y(0));
    let prevC = 0;
    for (const [p, c] of pts) {
      ctx.lineTo(x(p), y(prevC));
      ctx.lineTo(x(p), y(c));
      prevC = c;
    }
    const last = pts[pts.length - 1] as [number, number];
    ctx.lineTo(x(last[0]), y(0));
    ctx.closePath();
    ctx.fillStyle = fill;
    ctx.fill();
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.5;
    ctx.stroke();
  };
  area(bids, THEME.bid, THEME.bidBar);
  area(asks, THEME.ask, THEME.askBar);

  ctx.fillStyle = THEME.dim;
  ctx.font = '11px ui-monospace, Menlo, Consolas, monospace';
  ctx.textBaseline = 'bottom';
  ctx.textAlign = 'left';
  ctx.fillText(lo.toPrecision(7), 4, h - 2);
  ctx.textAlign = 'right';
  ctx.fillText(hi.toPrecision(7), w - 4, h - 2);
  ctx.textAlign = 'center';
  ctx.fillText(`mid ${mid.toPrecision(7)}`, w / 2, h - 2);
  ctx.textAlign = 'left';
  ctx.textBaseline = 'top';
  ctx.fillText(`Σ ${maxCum.toPrecision(5)}`, 4, 4);
}

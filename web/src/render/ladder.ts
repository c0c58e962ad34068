/**
 * The order book ladder on a canvas: asks above the spread, bids below, best levels next to it. Each row
 * prints the exact price and size text; a depth bar (cumulative size) sits behind it. In the consolidated
 * view the bar is split into one segment per venue in the venue's colour, and a strip shows who is best.
 */
import type { BookState, Level } from '../market/book-state.ts';
import { subtractText } from '../market/decimal-text.ts';
import { fitCanvas, THEME, venueColor } from './colors.ts';

const ROW_H = 18;
const FONT = '12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';

export interface LadderOptions {
  readonly consolidated: boolean;
}

function cumulative(levels: readonly Level[], n: number): number[] {
  const out: number[] = [];
  let c = 0;
  for (let i = 0; i < n; i++) {
    c += levels[i]?.s ?? 0;
    out.push(c);
  }
  return out;
}

function drawRow(
  ctx: CanvasRenderingContext2D,
  y: number,
  w: number,
  l: Level,
  cum: number,
  maxCum: number,
  isBid: boolean,
  opts: LadderOptions,
): void {
  const barW = maxCum > 0 ? (cum / maxCum) * w : 0;
  // Depth bar, drawn from the right edge leftwards.
  ctx.fillStyle = isBid ? THEME.bidBar : THEME.askBar;
  ctx.fillRect(w - barW, y + 1, barW, ROW_H - 2);
  if (opts.consolidated && l.venues !== undefined && l.venues.length > 0 && l.s > 0) {
    // This level's own size split by venue, in each venue's colour, at the row's left.
    const levelW = maxCum > 0 ? Math.max(2, (l.s / maxCum) * w) : 0;
    let x = 0;
    for (const v of l.venues) {
      const vw = (v.s / l.s) * levelW;
      ctx.fillStyle = venueColor(v.venue);
      ctx.globalAlpha = 0.9;
      ctx.fillRect(x, y + ROW_H - 4, vw, 3);
      x += vw;
    }
    ctx.globalAlpha = 1;
    const first = l.venues[0];
    if (first !== undefined) {
      ctx.fillStyle = venueColor(first.venue);
      ctx.fillRect(0, y + 1, 3, ROW_H - 2);
    }
  }
  ctx.fillStyle = isBid ? THEME.bid : THEME.ask;
  ctx.textAlign = 'left';
  ctx.fillText(l.price, 8, y + ROW_H / 2);
  ctx.fillStyle = THEME.text;
  ctx.textAlign = 'right';
  ctx.fillText(l.size, w * 0.62, y + ROW_H / 2);
  ctx.fillStyle = THEME.dim;
  ctx.fillText(cum.toPrecision(6).replace(/\.?0+$/, ''), w - 6, y + ROW_H / 2);
  if (opts.consolidated && l.venues !== undefined && l.venues.length > 0) {
    ctx.textAlign = 'left';
    ctx.fillStyle = venueColor(l.venues[0]?.venue ?? '');
    const names = l.venues.map((v) => v.venue).join(' ');
    ctx.fillText(names.length > 18 ? `${names.slice(0, 17)}…` : names, w * 0.64, y + ROW_H / 2);
  }
}

/** Draws the whole ladder; returns the number of rows drawn per side. */
export function drawLadder(canvas: HTMLCanvasElement, book: BookState | undefined, opts: LadderOptions): number {
  const fit = fitCanvas(canvas);
  if (fit === null) return 0;
  const { ctx, w, h } = fit;
  ctx.fillStyle = THEME.panel;
  ctx.fillRect(0, 0, w, h);
  ctx.font = FONT;
  ctx.textBaseline = 'middle';
  if (book === undefined || book.empty) {
    ctx.fillStyle = THEME.dim;
    ctx.textAlign = 'center';
    ctx.fillText(book === undefined ? 'no book selected' : 'waiting for snapshot…', w / 2, h / 2);
    return 0;
  }
  const spreadH = ROW_H + 4;
  const perSide = Math.max(1, Math.floor((h - spreadH) / 2 / ROW_H));
  const bids = book.levels('bids');
  const asks = book.levels('asks');
  const nb = Math.min(perSide, bids.length);
  const na = Math.min(perSide, asks.length);
  const cb = cumulative(bids, nb);
  const ca = cumulative(asks, na);
  const maxCum = Math.max(cb[nb - 1] ?? 0, ca[na - 1] ?? 0);
  const midY = perSide * ROW_H;
  for (let i = 0; i < na; i++) {
    const l = asks[i];
    if (l !== undefined) drawRow(ctx, midY - (i + 1) * ROW_H, w, l, ca[i] ?? 0, maxCum, false, opts);
  }
  for (let i = 0; i < nb; i++) {
    const l = bids[i];
    if (l !== undefined) drawRow(ctx, midY + spreadH + i * ROW_H, w, l, cb[i] ?? 0, maxCum, true, opts);
  }
  // Spread line.
  const bb = bids[0];
  const ba = asks[0];
  ctx.fillStyle = THEME.bg;
  ctx.fillRect(0, midY, w, spreadH);
  ctx.fillStyle = THEME.mid;
  ctx.textAlign = 'center';
  const spread = (bb !== undefined && ba !== undefined ? subtractText(ba.price, bb.price) : undefined) ?? '—';
  ctx.fillText(`spread ${spread}`, w / 2, midY + spreadH / 2);
  return perSide;
}

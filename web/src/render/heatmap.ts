/**
 * The liquidity heatmap (as Bookmap draws it): time runs left to right (newest at the right edge), price
 * bottom to top, and each cell's colour is the size resting at that price at that moment. Trades are
 * drawn on top as circles sized by volume (green: buyer aggressor, red: seller).
 *
 * The book is sampled every `SAMPLE_MS` into a bounded ring of columns (oldest dropped). Drawing fills a
 * small offscreen image, one pixel per column and price row, and scales it onto the visible canvas.
 */
import type { BookState } from '../market/book-state.ts';
import { fitCanvas, THEME } from './colors.ts';

export const SAMPLE_MS = 100;
/** Columns kept: 60 s of history. */
export const MAX_COLS = 600;
const MAX_TRADES = 2000;
const LEVELS_PER_SIDE = 60;

interface Column {
  readonly tMs: number;
  readonly prices: Float64Array;
  readonly sizes: Float64Array;
  readonly mid: number;
}

interface TradeMark {
  readonly tMs: number;
  readonly p: number;
  readonly s: number;
  readonly buy: boolean;
}

/** Background colour as RGB, the first pixel of every empty cell. */
const BG: readonly [number, number, number] = [14, 17, 23];

/** Intensity 0..1 to a colour: deep blue, cyan, yellow, white. */
function heat(t: number): [number, number, number] {
  const stops: Array<[number, number, number, number]> = [
    [0, 20, 30, 80],
    [0.35, 0, 150, 200],
    [0.7, 240, 220, 40],
    [1, 255, 255, 255],
  ];
  for (let i = 1; i < stops.length; i++) {
    const a = stops[i - 1] as [number, number, number, number];
    const b = stops[i] as [number, number, number, number];
    if (t <= b[0]) {
      const k = (t - a[0]) / (b[0] - a[0]);
      return [a[1] + (b[1] - a[1]) * k, a[2] + (b[2] - a[2]) * k, a[3] + (b[3] - a[3]) * k];
    }
  }
  return [255, 255, 255];
}

const PALETTE: Uint8ClampedArray = (() => {
  const out = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const [r, g, b] = heat(i / 255);
    out[i * 3] = r;
    out[i * 3 + 1] = g;
    out[i * 3 + 2] = b;
  }
  return out;
})();

export class HeatmapHistory {
  private cols: Column[] = [];
  private trades: TradeMark[] = [];
  private lastSampleMs = Number.NEGATIVE_INFINITY;
  private span = 0;
  /** Draw buffers, kept between draws (a fresh pair per draw was ~2 MB of garbage each time). */
  private cells = new Float32Array(0);
  private img: ImageData | undefined;
  /** Bumped when a column or trade is added. */
  version = 0;

  reset(): void {
    this.cols = [];
    this.trades = [];
    this.lastSampleMs = Number.NEGATIVE_INFINITY;
    this.span = 0;
    this.version++;
  }

  get columns(): number {
    return this.cols.length;
  }

  /** Takes a column from the book if `SAMPLE_MS` passed since the last one; true when it did. */
  sample(book: BookState | undefined, nowMs: number): boolean {
    if (book === undefined || book.empty || nowMs - this.lastSampleMs < SAMPLE_MS) return false;
    this.lastSampleMs = nowMs;
    const bids = book.levels('bids');
    const asks = book.levels('asks');
    const nb = Math.min(LEVELS_PER_SIDE, bids.length);
    const na = Math.min(LEVELS_PER_SIDE, asks.length);
    const prices = new Float64Array(nb + na);
    const sizes = new Float64Array(nb + na);
    for (let i = 0; i < nb; i++) {
      prices[i] = bids[i]?.p ?? 0;
      sizes[i] = bids[i]?.s ?? 0;
    }
    for (let i = 0; i < na; i++) {
      prices[nb + i] = asks[i]?.p ?? 0;
      sizes[nb + i] = asks[i]?.s ?? 0;
    }
    const bb = bids[0]?.p;
    const ba = asks[0]?.p;
    const mid = bb !== undefined && ba !== undefined ? (bb + ba) / 2 : (bb ?? ba ?? 0);
    this.cols.push({ tMs: nowMs, prices, sizes, mid });
    if (this.cols.length > MAX_COLS) this.cols.splice(0, this.cols.length - MAX_COLS);
    // Vertical reach: how far the 25th level sits from the mid, smoothed so the view does not jump.
    const reachB = bb === undefined ? 0 : mid - (bids[Math.min(24, nb - 1)]?.p ?? mid);
    const reachA = ba === undefined ? 0 : (asks[Math.min(24, na - 1)]?.p ?? mid) - mid;
    const target = Math.max(reachB, reachA, Math.abs(mid) * 1e-5) * 1.15;
    this.span = this.span === 0 ? target : this.span * 0.95 + target * 0.05;
    this.version++;
    return true;
  }

  addTrade(price: number, size: number, buy: boolean, nowMs: number): void {
    if (!Number.isFinite(price) || !Number.isFinite(size)) return;
    this.trades.push({ tMs: nowMs, p: price, s: size, buy });
    if (this.trades.length > MAX_TRADES) this.trades.splice(0, this.trades.length - MAX_TRADES);
    this.version++;
  }

  /** Draws the heatmap; returns how many cells had liquidity (0: nothing drawn yet). */
  draw(canvas: HTMLCanvasElement, scratch: HTMLCanvasElement, nowMs: number): number {
    const fit = fitCanvas(canvas);
    if (fit === null) return 0;
    const { ctx, w, h } = fit;
    ctx.fillStyle = THEME.bg;
    ctx.fillRect(0, 0, w, h);
    const last = this.cols[this.cols.length - 1];
    if (last === undefined) {
      ctx.fillStyle = THEME.dim;
      ctx.font = '12px ui-monospace, Menlo, Consolas, monospace';
      ctx.textAlign = 'center';
      ctx.fillText('collecting book history…', w / 2, h / 2);
      return 0;
    }
    const rows = Math.max(20, Math.min(400, Math.floor(h / 2)));
    const hi = last.mid + this.span;
    const lo = last.mid - this.span;
    if (this.cells.length !== MAX_COLS * rows) this.cells = new Float32Array(MAX_COLS * rows);
    else this.cells.fill(0);
    const cells = this.cells;
    let maxSize = 0;
    const offset = MAX_COLS - this.cols.length;
    for (let c = 0; c < this.cols.length; c++) {
      const col = this.cols[c] as Column;
      const base = offset + c;
      for (let i = 0; i < col.prices.length; i++) {
        const p = col.prices[i] as number;
        if (p < lo || p > hi) continue;
        const r = Math.min(rows - 1, Math.floor(((hi - p) / (hi - lo)) * rows));
        const k = r * MAX_COLS + base;
        const s = (cells[k] as number) + (col.sizes[i] as number);
        cells[k] = s;
        if (s > maxSize) maxSize = s;
      }
    }
    if (scratch.width !== MAX_COLS || scratch.height !== rows) {
      scratch.width = MAX_COLS;
      scratch.height = rows;
    }
    const sctx = scratch.getContext('2d');
    if (sctx === null) return 0;
    if (this.img === undefined || this.img.height !== rows) this.img = sctx.createImageData(MAX_COLS, rows);
    const img = this.img;
    const px = img.data;
    const norm = maxSize > 0 ? 255 / Math.log1p(maxSize) : 0;
    let filled = 0;
    for (let k = 0; k < cells.length; k++) {
      const s = cells[k] as number;
      const o = k * 4;
      if (s > 0) {
        const idx = Math.min(255, Math.max(24, Math.round(Math.log1p(s) * norm))) * 3;
        px[o] = PALETTE[idx] as number;
        px[o + 1] = PALETTE[idx + 1] as number;
        px[o + 2] = PALETTE[idx + 2] as number;
        filled++;
      } else {
        px[o] = BG[0];
        px[o + 1] = BG[1];
        px[o + 2] = BG[2];
      }
      px[o + 3] = 255;
    }
    sctx.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(scratch, 0, 0, MAX_COLS, rows, 0, 0, w, h);

    // Trades on top, placed by when we received them, on the same time axis as the columns.
    const windowMs = MAX_COLS * SAMPLE_MS;
    const y = (p: number): number => ((hi - p) / (hi - lo)) * h;
    let maxTrade = 0;
    for (const t of this.trades) if (t.s > maxTrade) maxTrade = t.s;
    for (const t of this.trades) {
      const age = nowMs - t.tMs;
      if (age > windowMs || t.p < lo || t.p > hi) continue;
      const x = w - (age / windowMs) * w;
      const r = 2 + 7 * Math.sqrt(maxTrade > 0 ? t.s / maxTrade : 0);
      ctx.beginPath();
      ctx.arc(x, y(t.p), r, 0, Math.PI * 2);
      ctx.fillStyle = t.buy ? 'rgba(38, 166, 154, 0.75)' : 'rgba(239, 83, 80, 0.75)';
      ctx.fill();
      ctx.strokeStyle = 'rgba(255,255,255,0.6)';
      ctx.lineWidth = 0.5;
      ctx.stroke();
    }

    // Mid trail and price labels.
    ctx.strokeStyle = THEME.mid;
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let c = 0; c < this.cols.length; c++) {
      const col = this.cols[c] as Column;
      const x = ((offset + c + 0.5) / MAX_COLS) * w;
      if (c === 0) ctx.moveTo(x, y(col.mid));
      else ctx.lineTo(x, y(col.mid));
    }
    ctx.stroke();
    ctx.fillStyle = THEME.text;
    ctx.font = '11px ui-monospace, Menlo, Consolas, monospace';
    ctx.textAlign = 'right';
    ctx.textBaseline = 'top';
    ctx.fillText(hi.toPrecision(8), w - 4, 4);
    ctx.textBaseline = 'bottom';
    ctx.fillText(lo.toPrecision(8), w - 4, h - 4);
    ctx.textBaseline = 'middle';
    ctx.fillText(last.mid.toPrecision(8), w - 4, h / 2);
    return filled;
  }
}

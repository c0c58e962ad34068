/**
 * The one animation-frame loop. Each frame it looks at version counters and redraws only what changed:
 * the ladder when the book moved, the depth chart and the trades tape when the book or the trades moved (at
 * most every `SLOW_PANEL_MS`), the heatmap when it took a new column or trade (at most once per column
 * period). No React render happens here. It also writes the best bid/ask into
 * `data-*` attributes of the ladder element, for end-to-end tests and accessibility tools.
 */
import { CONSOLIDATED, type MarketStore, type TradeRow } from '../market/store.ts';
import { drawDepth } from './depth.ts';
import { SAMPLE_MS } from './heatmap.ts';
import { drawLadder } from './ladder.ts';

export interface Surfaces {
  ladder?: HTMLCanvasElement | null;
  ladderHost?: HTMLElement | null;
  depth?: HTMLCanvasElement | null;
  heatmap?: HTMLCanvasElement | null;
  tape?: HTMLElement | null;
}

export interface FrameStats {
  frames: number;
  ladderDraws: number;
  heatmapDraws: number;
  /** Frames per second over the last second. */
  fps: number;
}

const TAPE_ROWS = 40;
/**
 * The depth chart and the trades tape are redrawn at most this often: they read fine at 10 Hz, and each
 * redraw costs a canvas upload or a DOM relayout in the frame (bench/dashboard.bench.ts measures frames).
 * The ladder is redrawn on every book change, at most once a frame.
 */
const SLOW_PANEL_MS = 100;

function renderTape(el: HTMLElement, trades: readonly TradeRow[]): void {
  const rows: string[] = [];
  for (let i = trades.length - 1; i >= 0 && rows.length < TAPE_ROWS; i--) {
    const t = trades[i] as TradeRow;
    const time = new Date(t.tsMs).toISOString().slice(11, 23);
    rows.push(
      `<div class="tape-row ${t.side === 'buy' ? 'buy' : 'sell'}"><span>${time}</span><span>${esc(t.price)}</span><span>${esc(t.size)}</span></div>`,
    );
  }
  el.innerHTML = rows.join('');
}

function esc(s: string): string {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function startRenderLoop(store: MarketStore, surfaces: Surfaces): { stop(): void; stats: FrameStats } {
  const stats: FrameStats = { frames: 0, ladderDraws: 0, heatmapDraws: 0, fps: 0 };
  const scratch = document.createElement('canvas');
  let bookSeen = -1;
  let bookRef: unknown;
  let heatSeen = -1;
  let heatDrawnAt = Number.NEGATIVE_INFINITY;
  let tapeSeen = -1;
  let tapeDrawnAt = Number.NEGATIVE_INFINITY;
  let depthSeen = -1;
  let depthRef: unknown;
  let depthDrawnAt = Number.NEGATIVE_INFINITY;
  // Resizes are observed, not polled: reading clientWidth every frame can force a layout.
  let resizePending = true;
  const resizes = new ResizeObserver(() => {
    resizePending = true;
  });
  for (const el of [surfaces.ladder, surfaces.heatmap, surfaces.depth]) if (el) resizes.observe(el);
  let fpsWindowStart = performance.now();
  let fpsFrames = 0;
  let raf = 0;
  let stopped = false;

  const frame = (): void => {
    if (stopped) return;
    raf = requestAnimationFrame(frame);
    const now = performance.now();
    stats.frames++;
    fpsFrames++;
    if (now - fpsWindowStart >= 1000) {
      stats.fps = Math.round((fpsFrames * 1000) / (now - fpsWindowStart));
      fpsFrames = 0;
      fpsWindowStart = now;
    }
    const book = store.book;
    // A resize forces a redraw of everything.
    const resized = resizePending;
    resizePending = false;
    if (resized || book !== bookRef || (book?.version ?? -1) !== bookSeen) {
      bookRef = book;
      bookSeen = book?.version ?? -1;
      const consolidated = store.selection.venue === CONSOLIDATED;
      if (surfaces.ladder) drawLadder(surfaces.ladder, book, { consolidated });
      stats.ladderDraws++;
      const host = surfaces.ladderHost;
      if (host) {
        host.dataset.bestBid = book?.best('bids')?.price ?? '';
        host.dataset.bestAsk = book?.best('asks')?.price ?? '';
        host.dataset.seq = book?.seq === undefined ? '' : String(book.seq);
        host.dataset.snapshots = String(book?.snapshots ?? 0);
        host.dataset.channel = book?.channel ?? '';
        host.dataset.status = typeof book?.meta.status === 'string' ? book.meta.status : '';
        host.dataset.draws = String(stats.ladderDraws);
      }
    }
    const bookVersion = book?.version ?? -1;
    if (
      surfaces.depth &&
      (resized || book !== depthRef || (bookVersion !== depthSeen && now - depthDrawnAt >= SLOW_PANEL_MS - 1))
    ) {
      depthRef = book;
      depthSeen = bookVersion;
      depthDrawnAt = now;
      drawDepth(surfaces.depth, book);
    }
    store.heatmap.sample(book, Date.now());
    // The heatmap moves one column per SAMPLE_MS; trades between columns wait for the next redraw, so it is
    // redrawn at most once per column (not on every trade batch: it is the costliest panel to draw).
    if (surfaces.heatmap && (resized || (store.heatmap.version !== heatSeen && now - heatDrawnAt >= SAMPLE_MS - 1))) {
      heatSeen = store.heatmap.version;
      heatDrawnAt = now;
      const filled = store.heatmap.draw(surfaces.heatmap, scratch, Date.now());
      surfaces.heatmap.dataset.cells = String(filled);
      surfaces.heatmap.dataset.columns = String(store.heatmap.columns);
      stats.heatmapDraws++;
    }
    if (surfaces.tape && store.tradesVersion !== tapeSeen && now - tapeDrawnAt >= SLOW_PANEL_MS - 1) {
      tapeSeen = store.tradesVersion;
      tapeDrawnAt = now;
      renderTape(surfaces.tape, store.trades);
      surfaces.tape.dataset.trades = String(store.trades.length);
    }
  };
  raf = requestAnimationFrame(frame);
  return {
    stats,
    stop() {
      stopped = true;
      cancelAnimationFrame(raf);
      resizes.disconnect();
    },
  };
}

/**
 * The one animation-frame loop. Each frame it looks at version counters and redraws only what changed:
 * the ladder and depth chart when the book moved, the heatmap when it took a new column or trade, the
 * trades tape when trades arrived. No React render happens here. It also writes the best bid/ask into
 * `data-*` attributes of the ladder element, for end-to-end tests and accessibility tools.
 */
import { CONSOLIDATED, type MarketStore, type TradeRow } from '../market/store.ts';
import { drawDepth } from './depth.ts';
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
  let tapeSeen = -1;
  let sizeKey = '';
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
    const key = `${surfaces.ladder?.clientWidth}x${surfaces.ladder?.clientHeight}:${surfaces.heatmap?.clientWidth}x${surfaces.heatmap?.clientHeight}:${surfaces.depth?.clientWidth}`;
    const resized = key !== sizeKey;
    sizeKey = key;
    if (resized || book !== bookRef || (book?.version ?? -1) !== bookSeen) {
      bookRef = book;
      bookSeen = book?.version ?? -1;
      const consolidated = store.selection.venue === CONSOLIDATED;
      if (surfaces.ladder) drawLadder(surfaces.ladder, book, { consolidated });
      if (surfaces.depth) drawDepth(surfaces.depth, book);
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
    store.heatmap.sample(book, Date.now());
    if (surfaces.heatmap && (resized || store.heatmap.version !== heatSeen)) {
      heatSeen = store.heatmap.version;
      const filled = store.heatmap.draw(surfaces.heatmap, scratch, Date.now());
      surfaces.heatmap.dataset.cells = String(filled);
      surfaces.heatmap.dataset.columns = String(store.heatmap.columns);
      stats.heatmapDraws++;
    }
    if (surfaces.tape && store.tradesVersion !== tapeSeen) {
      tapeSeen = store.tradesVersion;
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
    },
  };
}

/** Colours shared by every panel. Per-venue colours are fixed so a venue looks the same everywhere. */
export const THEME = {
  bg: '#0e1117',
  panel: '#151a23',
  grid: '#232a36',
  text: '#c9d1d9',
  dim: '#7d8590',
  bid: '#26a69a',
  ask: '#ef5350',
  bidBar: 'rgba(38, 166, 154, 0.28)',
  askBar: 'rgba(239, 83, 80, 0.28)',
  mid: '#e3b341',
} as const;

const VENUE_COLORS: Readonly<Record<string, string>> = {
  sim: '#a371f7',
  binance: '#f0b90b',
  'binance-usdm': '#c99400',
  okx: '#e6edf3',
  bybit: '#f7a600',
  coinbase: '#3773f5',
  kraken: '#7b61ff',
  bitfinex: '#16b157',
  bitstamp: '#2fb36d',
};

const FALLBACK = ['#ff7b72', '#79c0ff', '#d2a8ff', '#7ee787', '#ffa657', '#f778ba'];

export function venueColor(venue: string): string {
  const c = VENUE_COLORS[venue];
  if (c !== undefined) return c;
  let h = 0;
  for (let i = 0; i < venue.length; i++) h = (h * 31 + venue.charCodeAt(i)) >>> 0;
  return FALLBACK[h % FALLBACK.length] ?? '#79c0ff';
}

/** Sizes a canvas's backing store to its CSS box times the device pixel ratio; returns the 2D context. */
export function fitCanvas(canvas: HTMLCanvasElement): { ctx: CanvasRenderingContext2D; w: number; h: number } | null {
  const ctx = canvas.getContext('2d');
  if (ctx === null) return null;
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.floor(canvas.clientWidth));
  const h = Math.max(1, Math.floor(canvas.clientHeight));
  if (canvas.width !== Math.floor(w * dpr) || canvas.height !== Math.floor(h * dpr)) {
    canvas.width = Math.floor(w * dpr);
    canvas.height = Math.floor(h * dpr);
  }
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return { ctx, w, h };
}

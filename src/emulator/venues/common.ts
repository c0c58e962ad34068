/** Small helpers shared by the emulator's venue modules. */
import { writtenFractionDigits } from '../../core/fixed.ts';

const QUOTES = ['USDT', 'USDC', 'FDUSD', 'BUSD', 'USD', 'EUR', 'BTC', 'ETH'];

/** `BTCUSDT` -> `['BTC', 'USDT']`, `BTC-USDT` -> `['BTC', 'USDT']`. */
export function baseQuote(symbol: string): [string, string] {
  const s = symbol.toUpperCase();
  const dash = s.split(/[-/_]/);
  if (dash.length >= 2) return [dash[0] as string, dash[1] as string];
  for (const q of QUOTES) {
    if (s.length > q.length && s.endsWith(q)) return [s.slice(0, -q.length), q];
  }
  return [s, ''];
}

/** `"0.01"` padded to `digits` fraction digits (`"0.01000000"`), as Binance writes its filters. */
export function padDecimals(text: string, digits: number): string {
  const have = writtenFractionDigits(text);
  if (have >= digits) return text;
  return (have === 0 ? `${text}.` : text) + '0'.repeat(digits - have);
}

/** Parses JSON without throwing: undefined on bad input. */
export function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The first `depth` levels of each side of a book view, as `[[px, sz], ...]`. */
export function levelsJson(levels: readonly (readonly [string, string])[]): string {
  return JSON.stringify(levels);
}

/**
 * Bitfinex book checksum (docs.bitfinex.com/docs/ws-websocket-checksum): the top 25 levels interleaved
 * `bidPrice:bidAmount:askPrice:askAmount:...` with ask amounts negative, each number as JS `String(n)`
 * (`7e-7`), CRC32 compared as a signed 32-bit integer.
 *
 * Prices are scaled integers: `String(v / 10^scale)` is the same text as the venue's number because
 * dividing two exact doubles rounds to the double nearest the decimal, which is what parsing it gave.
 * Sizes are the text the handler stored (`String(n)` of the venue's amount), so `String(Number(text))`
 * gives it back.
 */
import { crc32 } from 'node:zlib';
import type { L2Book } from '../../book/l2-book.ts';
import { pow10 } from '../../core/fixed.ts';

export const BITFINEX_CHECKSUM_LEVELS = 25;
/** Price texts memoized per builder before the memo starts over (prices near the top recur). */
const PRICE_MEMO_MAX = 4096;

/**
 * Builds the checksum text of a book without intermediate arrays. Keeps a memo of price texts (a pure
 * function of the scaled price and the scale, so it can never be stale) and scratch space for the top
 * levels; one builder per book, or a shared one: both are exact.
 */
export class BitfinexChecksumBuilder {
  private readonly prices = new Float64Array(BITFINEX_CHECKSUM_LEVELS * 2);
  private readonly sizes: string[] = new Array<string>(BITFINEX_CHECKSUM_LEVELS).fill('');
  private readonly askSizes: string[] = new Array<string>(BITFINEX_CHECKSUM_LEVELS).fill('');
  private readonly askPrices = this.prices.subarray(BITFINEX_CHECKSUM_LEVELS);
  private readonly memo = new Map<number, string>();
  private readonly bidFrags = new Map<number, Fragment>();
  private readonly askFrags = new Map<number, Fragment>();
  private memoScale = -1;

  text(book: L2Book): string {
    const scale = book.priceScale;
    if (
      scale !== this.memoScale ||
      this.memo.size > PRICE_MEMO_MAX ||
      this.bidFrags.size > PRICE_MEMO_MAX ||
      this.askFrags.size > PRICE_MEMO_MAX
    ) {
      this.memo.clear();
      this.bidFrags.clear();
      this.askFrags.clear();
      this.memoScale = scale;
    }
    const pf = pow10(scale);
    const L = BITFINEX_CHECKSUM_LEVELS;
    const prices = this.prices;
    const sizes = this.sizes;
    const askSizes = this.askSizes;
    // Bid prices in [0, L), ask prices in [L, 2L).
    const nb = book.bids.top(L, prices, sizes);
    const na = book.asks.top(L, this.askPrices, askSizes);
    let s = '';
    for (let i = 0; i < L && (i < nb || i < na); i++) {
      if (i < nb) {
        const frag = this.fragment(this.bidFrags, prices[i] as number, sizes[i] as string, pf, '');
        s = s === '' ? frag : `${s}:${frag}`;
      }
      if (i < na) {
        const frag = this.fragment(this.askFrags, prices[L + i] as number, askSizes[i] as string, pf, '-');
        s = s === '' ? frag : `${s}:${frag}`;
      }
    }
    return s;
  }

  checksum(book: L2Book): number {
    return crc32(this.text(book)) | 0;
  }

  /**
   * The level's `price:amount` text, reused while the level keeps the same size text (a level's text is a
   * function of its scaled price, the scale and its size text).
   */
  private fragment(frags: Map<number, Fragment>, scaled: number, size: string, pf: number, sign: string): string {
    let f = frags.get(scaled);
    if (f === undefined) {
      f = { size, text: `${this.price(scaled, pf)}:${sign}${amountText(size)}` };
      frags.set(scaled, f);
    } else if (f.size !== size) {
      f.size = size;
      f.text = `${this.price(scaled, pf)}:${sign}${amountText(size)}`;
    }
    return f.text;
  }

  private price(scaled: number, pf: number): string {
    let t = this.memo.get(scaled);
    if (t === undefined) {
      t = String(scaled / pf);
      this.memo.set(scaled, t);
    }
    return t;
  }
}

interface Fragment {
  /** The size text the fragment was built from. */
  size: string;
  text: string;
}

/**
 * `String(Number(text))` for a positive size text, without the round trip when the text is already that:
 * plain digits with at most one dot, no redundant leading zero, no trailing fraction zero, at most 15
 * significant digits (so it is the only decimal of that length naming its double, hence the shortest) and
 * at least 1e-6 (below that `String` uses an exponent). Anything else takes the round trip.
 */
export function amountText(text: string): string {
  const n = text.length;
  if (n === 0 || n > 22) return String(Number(text));
  let dot = -1;
  let first = -1; // first non-zero digit
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 /* . */) {
      if (dot >= 0) return String(Number(text));
      dot = i;
    } else if (c < 48 || c > 57) {
      return String(Number(text));
    } else if (first < 0 && c !== 48) {
      first = i;
    }
  }
  if (first < 0) return String(Number(text)); // zero
  if (dot < 0) {
    if (first !== 0 || n > 15) return String(Number(text));
    return text;
  }
  const last = text.charCodeAt(n - 1);
  if (last === 48 || dot === n - 1) return String(Number(text)); // trailing zero or dot
  if (first < dot) {
    // d...d.ddd: no leading zero, at most 15 significant digits.
    if (first !== 0 || n - 1 > 15) return String(Number(text));
    return text;
  }
  // 0.000ddd: exactly one zero before the dot, at most five zeros after it, at most 15 significant digits.
  if (dot !== 1 || first - dot - 1 > 5 || n - first > 15) return String(Number(text));
  return text;
}

const shared = new BitfinexChecksumBuilder();

export function bitfinexChecksumText(book: L2Book): string {
  return shared.text(book);
}

export function bitfinexChecksum(book: L2Book): number {
  return shared.checksum(book);
}

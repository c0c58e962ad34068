/**
 * A strict cursor over a JSON frame's text for the venues' fast paths (binance/fast-depth.ts,
 * bybit/fast-book.ts): it reads only the exact layout a venue sends (no whitespace, known key order,
 * plain non-negative integers, strings without escapes or control characters) and reports anything else
 * as a failure, so the caller declines and the JSON.parse path decides. Strings are slices of the frame.
 */
import type { RawLevel } from '../book/l2-book.ts';

export class FrameScanner {
  text = '';
  at = 0;

  reset(text: string, at = 0): this {
    this.text = text;
    this.at = at;
    return this;
  }

  /** Skips `s` if the text continues with it. */
  lit(s: string): boolean {
    if (!this.text.startsWith(s, this.at)) return false;
    this.at += s.length;
    return true;
  }

  /** Skips the character `c` (a char code) if it is next. */
  char(c: number): boolean {
    if (this.text.charCodeAt(this.at) !== c) return false;
    this.at++;
    return true;
  }

  get done(): boolean {
    return this.at === this.text.length;
  }

  /**
   * A JSON non-negative integer (no sign, fraction, exponent or leading zero) that is a safe integer;
   * -1 otherwise. At most 16 digits, so the running value stays exact up to the safe-integer check.
   */
  uint(): number {
    const text = this.text;
    const start = this.at;
    let v = 0;
    let i = start;
    for (; i < text.length; i++) {
      const d = text.charCodeAt(i) - 48;
      if (d >>> 0 > 9) break;
      v = v * 10 + d;
    }
    const n = i - start;
    if (n === 0 || n > 16 || (n > 1 && text.charCodeAt(start) === 48) || v > Number.MAX_SAFE_INTEGER) return -1;
    this.at = i;
    return v;
  }

  /**
   * Index of the closing quote of a JSON string whose content starts at `i`, or -1 when it has an escape
   * or a control character (JSON.parse would unescape the first and reject the second) or is unterminated.
   */
  stringEnd(i: number): number {
    const text = this.text;
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 34 /* " */) return i;
      if (c === 92 /* \ */ || c < 32) return -1;
    }
    return -1;
  }

  /** A string value `"..."` at the cursor (its content as a slice), or undefined. */
  string(): string | undefined {
    if (this.text.charCodeAt(this.at) !== 34) return undefined;
    const end = this.stringEnd(this.at + 1);
    if (end < 0) return undefined;
    const s = this.text.slice(this.at + 1, end);
    this.at = end + 1;
    return s;
  }

  /** `[["p","q"],...]` at the cursor (exactly two strings per level), or undefined. */
  levels(): RawLevel[] | undefined {
    const text = this.text;
    let at = this.at;
    if (text.charCodeAt(at) !== 91 /* [ */) return undefined;
    at++;
    const out: RawLevel[] = [];
    if (text.charCodeAt(at) === 93 /* ] */) {
      this.at = at + 1;
      return out;
    }
    for (;;) {
      // ["p","q"]
      if (text.charCodeAt(at) !== 91 || text.charCodeAt(at + 1) !== 34) return undefined;
      const p0 = at + 2;
      const p1 = this.stringEnd(p0);
      if (p1 < 0 || text.charCodeAt(p1 + 1) !== 44 /* , */ || text.charCodeAt(p1 + 2) !== 34) return undefined;
      const q0 = p1 + 3;
      const q1 = this.stringEnd(q0);
      if (q1 < 0 || text.charCodeAt(q1 + 1) !== 93) return undefined;
      out.push([text.slice(p0, p1), text.slice(q0, q1)]);
      const c = text.charCodeAt(q1 + 2);
      at = q1 + 3;
      if (c === 93) {
        this.at = at;
        return out;
      }
      if (c !== 44) return undefined;
    }
  }
}

/**
 * A growable byte buffer that writes PostgreSQL COPY text rows in place: one buffer per table and batch
 * part, no per-row strings. Decimal text, ISO times and enums are ASCII and copied byte by byte; free
 * text (venue, symbol, ids, reasons) is copied the same way when it is printable ASCII, else escaped and
 * UTF-8 encoded.
 */

const TAB = 9;
const NL = 10;
const BACKSLASH = 92;
const encoder = new TextEncoder();

let isoSecond = Number.NaN;
const isoPrefix = new Uint8Array(20);

export class CopyBuffer {
  private buf: Uint8Array;
  private len = 0;

  constructor(initialBytes = 1 << 16) {
    this.buf = new Uint8Array(initialBytes);
  }

  get length(): number {
    return this.len;
  }

  /** The rows written so far (a view: valid until the next write). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  tab(): void {
    this.ensure(1);
    this.buf[this.len++] = TAB;
  }

  newline(): void {
    this.ensure(1);
    this.buf[this.len++] = NL;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b;
  }

  /** `\N`. */
  nul(): void {
    this.ensure(2);
    this.buf[this.len++] = BACKSLASH;
    this.buf[this.len++] = 78;
  }

  /**
   * Text known to be ASCII without tab, newline or backslash: canonical decimals, numbers, enum values.
   * (Validated upstream; a stray character would only make COPY reject the batch, never corrupt a row.)
   */
  ascii(s: string): void {
    const n = s.length;
    this.ensure(n);
    const b = this.buf;
    let o = this.len;
    for (let i = 0; i < n; i++) b[o++] = s.charCodeAt(i);
    this.len = o;
  }

  number(v: number): void {
    this.ascii(String(v));
  }

  numberOrNull(v: number | null): void {
    if (v === null) this.nul();
    else this.ascii(String(v));
  }

  /** Any text, escaped for COPY and UTF-8 encoded; null is `\N`. */
  text(s: string | null): void {
    if (s === null) {
      this.nul();
      return;
    }
    const n = s.length;
    this.ensure(n);
    const b = this.buf;
    let o = this.len;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 32 || c > 126 || c === BACKSLASH) {
        this.textSlow(s);
        return;
      }
      b[o++] = c;
    }
    this.len = o;
  }

  private textSlow(s: string): void {
    const enc = encoder.encode(
      s.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r')),
    );
    this.ensure(enc.length);
    this.buf.set(enc, this.len);
    this.len += enc.length;
  }

  /** A whole-ms epoch time as ISO 8601 UTC text (`2023-11-14T22:13:20.123Z`), for years 1970 to 9999. */
  isoMs(ms: number): void {
    const whole = Math.floor(Math.max(ms, 0));
    const sec = Math.floor(whole / 1000);
    if (sec !== isoSecond) {
      isoSecond = sec;
      const s = new Date(sec * 1000).toISOString();
      for (let i = 0; i < 20; i++) isoPrefix[i] = s.charCodeAt(i);
    }
    const frac = whole - sec * 1000;
    this.ensure(24);
    this.buf.set(isoPrefix, this.len);
    const b = this.buf;
    let o = this.len + 20;
    b[o++] = 48 + Math.floor(frac / 100);
    b[o++] = 48 + (Math.floor(frac / 10) % 10);
    b[o++] = 48 + (frac % 10);
    b[o++] = 90; // Z
    this.len = o;
  }
}

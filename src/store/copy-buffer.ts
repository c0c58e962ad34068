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

/** The growable bytes both COPY encoders write into. */
class GrowableBytes {
  protected buf: Uint8Array;
  protected len = 0;

  constructor(initialBytes: number) {
    this.buf = new Uint8Array(initialBytes);
  }

  get length(): number {
    return this.len;
  }

  /** The bytes written so far (a view: valid until the next write). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  /** Makes room for `n` more bytes (doubling the buffer). */
  protected ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.grown();
  }

  /** Called after the buffer was replaced. */
  protected grown(): void {}
}

export class CopyBuffer extends GrowableBytes {
  constructor(initialBytes = 1 << 16) {
    super(initialBytes);
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

/** Milliseconds from the Unix epoch to PostgreSQL's (2000-01-01T00:00:00Z). */
const PG_EPOCH_MS = 946_684_800_000;
const TWO32 = 4_294_967_296;
/** `PGCOPY\n\377\r\n\0`, flags 0, header extension length 0. */
const BINARY_HEADER = new Uint8Array([80, 71, 67, 79, 80, 89, 10, 255, 13, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
/** OID of `text` (array element type). */
const TEXT_OID = 25;

/**
 * Rows in PostgreSQL's binary COPY format (`copy ... with (format binary)`): the server stores the
 * values without parsing text (no timestamp, number or array-literal parsing). Used for book deltas, the
 * bulk of the rows. Call `header()` once, then per row `row(fields)` and one writer per field, then
 * `trailer()`. Integers must be safe integers; times whole ms from 1970 to 9999 (as `CopyBuffer.isoMs`).
 */
export class BinaryCopyBuffer extends GrowableBytes {
  private view: DataView;
  /** Scratch base-10000 digits of one `numeric` (the domain caps decimal text at 64 characters). */
  private groups = new Int32Array(64);

  constructor(initialBytes = 1 << 16) {
    super(initialBytes);
    this.view = new DataView(this.buf.buffer);
  }

  /** Whether any row was written (the header alone is not a row). */
  get empty(): boolean {
    return this.len <= BINARY_HEADER.length;
  }

  protected override grown(): void {
    this.view = new DataView(this.buf.buffer);
  }

  header(): void {
    this.ensure(BINARY_HEADER.length);
    this.buf.set(BINARY_HEADER, this.len);
    this.len += BINARY_HEADER.length;
  }

  trailer(): void {
    this.ensure(2);
    this.view.setInt16(this.len, -1);
    this.len += 2;
  }

  /** Starts a row of `fields` columns. */
  row(fields: number): void {
    this.ensure(2);
    this.view.setInt16(this.len, fields);
    this.len += 2;
  }

  nul(): void {
    this.ensure(4);
    this.view.setInt32(this.len, -1);
    this.len += 4;
  }

  private raw64(hi: number, lo: number): void {
    this.ensure(12);
    const v = this.view;
    v.setInt32(this.len, 8);
    v.setInt32(this.len + 4, hi);
    v.setUint32(this.len + 8, lo);
    this.len += 12;
  }

  /** A `bigint` column from a safe integer. */
  int8(n: number): void {
    const hi = Math.floor(n / TWO32);
    this.raw64(hi, n - hi * TWO32);
  }

  int8OrNull(n: number | null): void {
    if (n === null) this.nul();
    else this.int8(n);
  }

  float8(x: number): void {
    this.ensure(12);
    this.view.setInt32(this.len, 8);
    this.view.setFloat64(this.len + 4, x);
    this.len += 12;
  }

  float8OrNull(x: number | null): void {
    if (x === null) this.nul();
    else this.float8(x);
  }

  /** A `timestamptz` column: whole ms (fraction dropped, as the text path) as µs since 2000-01-01. */
  timestampMs(ms: number): void {
    const v = Math.floor(Math.max(ms, 0)) - PG_EPOCH_MS;
    // v * 1000 can exceed 2^53: split v first, then carry the low part's overflow into the high word.
    const q = Math.floor(v / TWO32);
    const low = (v - q * TWO32) * 1000;
    const carry = Math.floor(low / TWO32);
    this.raw64(q * 1000 + carry, low - carry * TWO32);
  }

  /** A `text` column, UTF-8 (no escaping in binary format). */
  text(s: string): void {
    const n = s.length;
    this.ensure(4 + n);
    const b = this.buf;
    let o = this.len + 4;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 127) {
        this.textUtf8(s);
        return;
      }
      b[o++] = c;
    }
    this.view.setInt32(this.len, n);
    this.len = o;
  }

  private textUtf8(s: string): void {
    const enc = encoder.encode(s);
    this.ensure(4 + enc.length);
    this.view.setInt32(this.len, enc.length);
    this.buf.set(enc, this.len + 4);
    this.len += 4 + enc.length;
  }

  textOrNull(s: string | null): void {
    if (s === null) this.nul();
    else this.text(s);
  }

  /**
   * A `numeric` column from canonical decimal text (`-?digits(.digits)?`, as the domain types hold it), in
   * PostgreSQL's binary form: base-10000 digits around the decimal point, weight, sign and display scale
   * (the number of fraction digits given, as `numeric_in` keeps it). Anything else is refused (throws).
   */
  numeric(s: string): void {
    const n = s.length;
    const neg = n > 0 && s.charCodeAt(0) === 45;
    const start = neg ? 1 : 0;
    let dot = s.indexOf('.', start);
    if (dot < 0) dot = n;
    const fracLen = dot === n ? 0 : n - dot - 1;
    if (dot === start || (dot < n && fracLen === 0)) throw new RangeError(`not a canonical decimal: ${s}`);
    // Digits are grouped in fours outward from the point: the integer part is left-padded to a multiple of 4.
    const intLen = dot - start;
    const intGroups = Math.ceil(intLen / 4);
    const fracGroups = Math.ceil(fracLen / 4);
    const groups = this.groups;
    let g = 0;
    let acc = 0;
    let k = (4 - (intLen % 4)) % 4;
    for (let i = start; i < dot; i++) {
      const d = s.charCodeAt(i) - 48;
      if (d < 0 || d > 9) throw new RangeError(`not a canonical decimal: ${s}`);
      acc = acc * 10 + d;
      if (++k === 4) {
        groups[g++] = acc;
        acc = 0;
        k = 0;
      }
    }
    for (let i = dot + 1; i < n; i++) {
      const d = s.charCodeAt(i) - 48;
      if (d < 0 || d > 9) throw new RangeError(`not a canonical decimal: ${s}`);
      acc = acc * 10 + d;
      if (++k === 4) {
        groups[g++] = acc;
        acc = 0;
        k = 0;
      }
    }
    if (k > 0) {
      while (k++ < 4) acc *= 10;
      groups[g++] = acc;
    }
    // Leading and trailing zero groups are not stored (leading ones lower the weight).
    let first = 0;
    let weight = intGroups - 1;
    while (first < g && groups[first] === 0) {
      first++;
      weight--;
    }
    let last = intGroups + fracGroups;
    while (last > first && groups[last - 1] === 0) last--;
    const nd = last - first;
    this.ensure(12 + 2 * nd);
    const v = this.view;
    let o = this.len;
    v.setInt32(o, 8 + 2 * nd);
    v.setInt16(o + 4, nd);
    v.setInt16(o + 6, nd === 0 ? 0 : weight);
    v.setUint16(o + 8, neg && nd > 0 ? 0x4000 : 0);
    v.setInt16(o + 10, fracLen);
    o += 12;
    for (let i = first; i < last; i++) {
      v.setInt16(o, groups[i] as number);
      o += 2;
    }
    this.len = o;
  }

  /**
   * Starts a `text` column written in pieces (`ascii`, `byte`), closed by `endText(at)` with what this
   * returned: a side of a book delta goes straight from its changes into the buffer, no string is joined.
   */
  beginText(): number {
    this.ensure(4);
    const at = this.len;
    this.len += 4;
    return at;
  }

  endText(at: number): void {
    this.view.setInt32(at, this.len - at - 4);
  }

  /** Bytes of ASCII text (canonical decimals) inside a `beginText` column. */
  ascii(s: string): void {
    const n = s.length;
    this.ensure(n);
    const b = this.buf;
    let o = this.len;
    for (let i = 0; i < n; i++) b[o++] = s.charCodeAt(i);
    this.len = o;
  }

  byte(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v;
  }

  /** Starts a one-dimensional `text[]` of `n` non-null elements; then `n` calls of `text`, then `endArray`. */
  beginTextArray(n: number): number {
    this.ensure(24);
    const at = this.len;
    const v = this.view;
    v.setInt32(at + 4, 1); // dimensions
    v.setInt32(at + 8, 0); // no nulls
    v.setInt32(at + 12, TEXT_OID);
    v.setInt32(at + 16, n);
    v.setInt32(at + 20, 1); // lower bound
    this.len += 24;
    return at;
  }

  endArray(at: number): void {
    this.view.setInt32(at, this.len - at - 4);
  }
}

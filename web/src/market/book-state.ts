/**
 * One subscribed book, kept outside React. Prices and sizes stay the server's exact decimal text (what
 * the ladder prints); `p` and `s` are the same values as numbers, used only for pixels and colours.
 */

/** One venue's share of a consolidated level. */
export interface VenueShare {
  readonly venue: string;
  readonly size: string;
  readonly s: number;
}

export interface Level {
  readonly price: string;
  readonly p: number;
  readonly size: string;
  readonly s: number;
  /** Consolidated books only: who rests at this price, largest first. */
  readonly venues: readonly VenueShare[] | undefined;
}

export type Side = 'bids' | 'asks';

function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

function parseVenues(v: unknown): VenueShare[] | undefined {
  const out: VenueShare[] = [];
  if (Array.isArray(v)) {
    for (const e of v) {
      if (Array.isArray(e)) {
        const venue = text(e[0]);
        const size = text(e[1]);
        if (venue !== undefined && size !== undefined) out.push({ venue, size, s: Number(size) });
      } else if (e !== null && typeof e === 'object') {
        const o = e as Record<string, unknown>;
        const venue = text(o.venue);
        const size = text(o.size ?? o.qty ?? o.amount);
        if (venue !== undefined && size !== undefined) out.push({ venue, size, s: Number(size) });
      }
    }
  } else if (v !== null && typeof v === 'object') {
    for (const [venue, sz] of Object.entries(v as Record<string, unknown>)) {
      const size = text(sz);
      if (size !== undefined) out.push({ venue, size, s: Number(size) });
    }
  } else {
    return undefined;
  }
  out.sort((a, b) => b.s - a.s);
  return out;
}

/** A level from the wire: `[price, size]`, `[price, size, venues]` or `{ price, size, venues }`. */
export function parseLevel(raw: unknown): Level | undefined {
  let price: string | undefined;
  let size: string | undefined;
  let venues: VenueShare[] | undefined;
  if (Array.isArray(raw)) {
    price = text(raw[0]);
    size = text(raw[1]);
    venues = raw.length > 2 ? parseVenues(raw[2]) : undefined;
  } else if (raw !== null && typeof raw === 'object') {
    const o = raw as Record<string, unknown>;
    price = text(o.price ?? o.px);
    size = text(o.size ?? o.qty ?? o.amount);
    venues = parseVenues(o.venues ?? o.byVenue ?? o.breakdown);
  }
  if (price === undefined || size === undefined) return undefined;
  const p = Number(price);
  if (!Number.isFinite(p)) return undefined;
  return { price, p, size, s: Number(size), venues };
}

function levelsOf(data: unknown, side: Side): unknown[] {
  if (data === null || typeof data !== 'object') return [];
  const v = (data as Record<string, unknown>)[side];
  return Array.isArray(v) ? v : [];
}

export class BookState {
  readonly channel: string;
  private readonly sides = { bids: new Map<string, Level>(), asks: new Map<string, Level>() };
  private readonly sorted: { bids: Level[] | undefined; asks: Level[] | undefined } = {
    bids: undefined,
    asks: undefined,
  };
  /** Bumped on every applied message; renderers redraw when it moves. */
  version = 0;
  seq: number | undefined;
  snapshots = 0;
  deltas = 0;
  /** Epoch ms of the last applied message (our receive time). */
  lastMsgMs: number | undefined;
  /** The server's extra fields (status, excluded venues, ...) from the latest message. */
  meta: Record<string, unknown> = {};

  constructor(channel: string) {
    this.channel = channel;
  }

  applySnapshot(data: unknown, seq: number | undefined, nowMs: number): void {
    this.sides.bids.clear();
    this.sides.asks.clear();
    this.snapshots++;
    this.apply(data, seq, nowMs);
  }

  applyDelta(data: unknown, seq: number | undefined, nowMs: number): void {
    this.deltas++;
    this.apply(data, seq, nowMs);
  }

  private apply(data: unknown, seq: number | undefined, nowMs: number): void {
    for (const side of ['bids', 'asks'] as const) {
      const m = this.sides[side];
      for (const raw of levelsOf(data, side)) {
        const l = parseLevel(raw);
        if (l === undefined) continue;
        if (l.s === 0) m.delete(l.price);
        else m.set(l.price, l);
      }
      this.sorted[side] = undefined;
    }
    if (data !== null && typeof data === 'object') {
      const { bids: _b, asks: _a, ...rest } = data as Record<string, unknown>;
      this.meta = rest;
    }
    this.seq = seq;
    this.lastMsgMs = nowMs;
    this.version++;
  }

  /**
   * Replaces the whole book with levels the client already merged (best first). `snapshot` counts it as a
   * fresh snapshot (after a subscribe, a reconnect or a gap).
   */
  replace(
    bids: readonly unknown[],
    asks: readonly unknown[],
    meta: Record<string, unknown>,
    seq: number,
    snapshot: boolean,
    nowMs: number,
  ): void {
    if (snapshot) this.snapshots++;
    else this.deltas++;
    for (const [side, raw] of [
      ['bids', bids],
      ['asks', asks],
    ] as const) {
      const m = this.sides[side];
      m.clear();
      const out: Level[] = [];
      for (const r of raw) {
        const l = parseLevel(r);
        if (l === undefined || l.s === 0) continue;
        m.set(l.price, l);
        out.push(l);
      }
      // The client keeps each side sorted best first by exact decimal order.
      this.sorted[side] = out;
    }
    this.meta = meta;
    this.seq = seq;
    this.lastMsgMs = nowMs;
    this.version++;
  }

  clear(): void {
    this.sides.bids.clear();
    this.sides.asks.clear();
    this.sorted.bids = undefined;
    this.sorted.asks = undefined;
    this.version++;
  }

  /** Best first: bids high to low, asks low to high. */
  levels(side: Side): readonly Level[] {
    let s = this.sorted[side];
    if (s === undefined) {
      s = [...this.sides[side].values()];
      if (side === 'bids') s.sort((a, b) => b.p - a.p);
      else s.sort((a, b) => a.p - b.p);
      this.sorted[side] = s;
    }
    return s;
  }

  best(side: Side): Level | undefined {
    return this.levels(side)[0];
  }

  get empty(): boolean {
    return this.sides.bids.size === 0 && this.sides.asks.size === 0;
  }
}

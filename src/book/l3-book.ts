/**
 * An exact L3 (order-by-order) book for venues that publish individual orders: Coinbase Exchange `full`
 * (open / change / match / done), Bitfinex raw books (`prec: R0`), Kraken `level3`.
 *
 * Every price level holds a FIFO queue of orders (price-time priority); every order is found by id in
 * O(1) and unlinked from its queue in O(1). The L2 view (`l2`, an `L2Book`) is maintained incrementally:
 * each operation sets the aggregate size of the one level it touched. Sizes are exact decimals.
 *
 * Operations are atomic: they validate first, then update the L2 view (itself atomic, and the only step
 * that can still fail, for a value beyond its exact range), then the order queues. On a typed error
 * nothing changed.
 */
import { qobError } from '../core/errors.ts';
import { Decimal } from '../core/fixed.ts';
import { type BookSideName, L2Book, type L2BookOptions } from './l2-book.ts';

export interface L3BookOptions extends L2BookOptions {
  /**
   * What to do with a change, fill or removal of an order id the book does not hold. Venues send `done`
   * for orders that were never open on the book (Coinbase `full`: market orders, or orders that were
   * received before the snapshot); `'count'` counts them in `unknownOrders` and ignores them.
   * Default `'throw'` (QOB_ERR_UNKNOWN_ORDER).
   */
  readonly unknownOrder?: 'throw' | 'count';
}

/** An order as the book holds it: canonical decimal texts. */
export interface L3Order {
  readonly id: string;
  readonly side: BookSideName;
  readonly price: string;
  readonly size: string;
}

/** One order of a snapshot: `[price, size, orderId]` text, as Coinbase's REST `level=3` book sends it. */
export type L3SnapshotOrder = readonly [price: string, size: string, orderId: string];

interface OrderNode {
  readonly id: string;
  readonly level: Level;
  size: Decimal;
  prev: OrderNode | undefined;
  next: OrderNode | undefined;
}

interface Level {
  readonly side: BookSideName;
  /** Canonical price text: the level's key. */
  readonly price: string;
  total: Decimal;
  count: number;
  head: OrderNode | undefined;
  tail: OrderNode | undefined;
}

export class L3Book {
  /** The derived L2 view: aggregate size per price. Read it, never write to it. */
  readonly l2: L2Book;
  /** Changes, fills and removals of unknown order ids ignored in `'count'` mode. */
  unknownOrders = 0;
  private readonly unknownOrder: 'throw' | 'count';
  private orderMap = new Map<string, OrderNode>();
  private levelMaps: Record<BookSideName, Map<string, Level>> = { bid: new Map(), ask: new Map() };

  constructor(options: L3BookOptions = {}) {
    const { unknownOrder = 'throw', ...l2Options } = options;
    if (unknownOrder !== 'throw' && unknownOrder !== 'count') {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', `unknownOrder must be 'throw' or 'count'`, { unknownOrder });
    }
    this.unknownOrder = unknownOrder;
    this.l2 = new L2Book(l2Options);
  }

  /** Number of live orders. */
  get orderCount(): number {
    return this.orderMap.size;
  }

  // ---- updates ---------------------------------------------------------------------------------------

  /** Adds an order at the tail of its price level's queue. */
  add(orderId: string, side: BookSideName, price: string, size: string): void {
    checkId(orderId);
    checkSide(side);
    if (this.orderMap.has(orderId)) {
      throw qobError('QOB_ERR_DUPLICATE_ORDER', `order ${orderId} is already on the book`, { orderId });
    }
    const p = parsePrice(price);
    const s = parseSize(size, 'size');
    if (s.isZero()) throw qobError('QOB_ERR_INVALID_ARGUMENT', 'an order needs a positive size', { orderId, size });
    const key = p.toString();
    const existing = this.levelMaps[side].get(key);
    const total = existing === undefined ? s : existing.total.add(s);
    this.l2.set(side, key, total.toString());
    const level = existing ?? this.newLevel(side, key);
    level.total = total;
    const node: OrderNode = { id: orderId, level, size: s, prev: undefined, next: undefined };
    linkTail(level, node);
    this.orderMap.set(orderId, node);
  }

  /**
   * Sets an order's remaining size (Coinbase `change`, Kraken L3 modify). A smaller size keeps the
   * order's place in the queue; a larger one sends it to the back (it loses time priority); zero removes
   * it. Returns false when the id is unknown in `'count'` mode.
   */
  change(orderId: string, newSize: string): boolean {
    const node = this.lookup(orderId);
    if (node === undefined) return false;
    const s = parseSize(newSize, 'newSize');
    if (s.isZero()) return this.removeNode(node);
    const level = node.level;
    const total = level.total.sub(node.size).add(s);
    this.l2.set(level.side, level.price, total.toString());
    level.total = total;
    const grew = s.cmp(node.size) > 0;
    node.size = s;
    if (grew && level.tail !== node) {
      unlink(level, node);
      linkTail(level, node);
    }
    return true;
  }

  /**
   * A trade against a resting order (Coinbase `match`: the maker order): reduces its size by `size`, and
   * removes it when nothing is left. Filling more than the order holds is QOB_ERR_INVALID_ARGUMENT.
   * Returns false when the id is unknown in `'count'` mode.
   */
  fill(orderId: string, size: string): boolean {
    const node = this.lookup(orderId);
    if (node === undefined) return false;
    const s = parseSize(size, 'size');
    if (s.isZero()) throw qobError('QOB_ERR_INVALID_ARGUMENT', 'a fill needs a positive size', { orderId, size });
    const left = node.size.sub(s);
    if (left.sign() < 0) {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', `fill of ${size} exceeds order ${orderId}'s ${node.size}`, {
        orderId,
        size,
        remaining: node.size.toString(),
      });
    }
    if (left.isZero()) return this.removeNode(node);
    const level = node.level;
    const total = level.total.sub(s);
    this.l2.set(level.side, level.price, total.toString());
    level.total = total;
    node.size = left;
    return true;
  }

  /** Removes an order (Coinbase `done`, Bitfinex R0 `price 0`). Returns false when unknown in `'count'` mode. */
  remove(orderId: string): boolean {
    const node = this.lookup(orderId);
    if (node === undefined) return false;
    return this.removeNode(node);
  }

  /**
   * Replaces the whole book with `bids` and `asks` orders, queued in array order. Validated first: on a
   * typed error the book is unchanged.
   */
  applySnapshot(bids: ArrayLike<L3SnapshotOrder>, asks: ArrayLike<L3SnapshotOrder>): void {
    const orders = new Map<string, OrderNode>();
    const levels: Record<BookSideName, Map<string, Level>> = { bid: new Map(), ask: new Map() };
    const raw: Record<BookSideName, ArrayLike<L3SnapshotOrder>> = { bid: bids, ask: asks };
    for (const side of ['bid', 'ask'] as const) {
      const list = raw[side];
      for (let i = 0; i < list.length; i++) {
        const o = list[i];
        if (o === null || typeof o !== 'object') {
          throw qobError('QOB_ERR_MALFORMED_MESSAGE', `snapshot ${side} ${i} is not [price, size, orderId]`, {
            side,
            index: i,
          });
        }
        const [price, size, id] = o;
        checkId(id);
        if (orders.has(id))
          throw qobError('QOB_ERR_DUPLICATE_ORDER', `order ${id} twice in a snapshot`, { orderId: id });
        const p = parsePrice(price);
        const s = parseSize(size, 'size');
        if (s.isZero()) throw qobError('QOB_ERR_INVALID_ARGUMENT', 'an order needs a positive size', { orderId: id });
        const key = p.toString();
        let level = levels[side].get(key);
        if (level === undefined) {
          level = { side, price: key, total: Decimal.ZERO, count: 0, head: undefined, tail: undefined };
          levels[side].set(key, level);
        }
        level.total = level.total.add(s);
        const node: OrderNode = { id, level, size: s, prev: undefined, next: undefined };
        linkTail(level, node);
        orders.set(id, node);
      }
    }
    const text = (m: Map<string, Level>) => [...m.values()].map((l) => [l.price, l.total.toString()]);
    this.l2.applySnapshot(text(levels.bid), text(levels.ask));
    this.orderMap = orders;
    this.levelMaps = levels;
  }

  clear(): void {
    this.orderMap.clear();
    this.levelMaps.bid.clear();
    this.levelMaps.ask.clear();
    this.l2.clear();
  }

  // ---- reads -----------------------------------------------------------------------------------------

  /** The order with that id, or undefined. O(1). */
  order(orderId: string): L3Order | undefined {
    const n = this.orderMap.get(orderId);
    return n === undefined ? undefined : toOrder(n);
  }

  has(orderId: string): boolean {
    return this.orderMap.has(orderId);
  }

  /** The orders at one price, first in time first (the next to trade). Empty when the level is absent. */
  queue(side: BookSideName, price: string): L3Order[] {
    const level = this.levelMaps[side].get(parsePrice(price).toString());
    const out: L3Order[] = [];
    for (let n = level?.head; n !== undefined; n = n.next) out.push(toOrder(n));
    return out;
  }

  /** 0-based place of an order in its level's queue (0 trades next), or -1 when unknown. O(queue). */
  queuePosition(orderId: string): number {
    const node = this.orderMap.get(orderId);
    if (node === undefined) return -1;
    let i = 0;
    for (let n = node.level.head; n !== node; n = n?.next) i++;
    return i;
  }

  /** Number of price levels on a side. */
  levelCount(side: BookSideName): number {
    return this.levelMaps[side].size;
  }

  /** Every live order, level by level in no particular order, each level's queue in time order. */
  *orders(): IterableIterator<L3Order> {
    for (const side of ['bid', 'ask'] as const) {
      for (const level of this.levelMaps[side].values()) {
        for (let n = level.head; n !== undefined; n = n.next) yield toOrder(n);
      }
    }
  }

  // ---- internals -------------------------------------------------------------------------------------

  private lookup(orderId: string): OrderNode | undefined {
    checkId(orderId);
    const node = this.orderMap.get(orderId);
    if (node !== undefined) return node;
    if (this.unknownOrder === 'count') {
      this.unknownOrders++;
      return undefined;
    }
    throw qobError('QOB_ERR_UNKNOWN_ORDER', `order ${orderId} is not on the book`, { orderId });
  }

  private newLevel(side: BookSideName, price: string): Level {
    const level: Level = { side, price, total: Decimal.ZERO, count: 0, head: undefined, tail: undefined };
    this.levelMaps[side].set(price, level);
    return level;
  }

  private removeNode(node: OrderNode): true {
    const level = node.level;
    const total = level.total.sub(node.size);
    this.l2.set(level.side, level.price, total.toString());
    level.total = total;
    unlink(level, node);
    this.orderMap.delete(node.id);
    if (level.count === 0) this.levelMaps[level.side].delete(level.price);
    return true;
  }
}

function linkTail(level: Level, node: OrderNode): void {
  node.prev = level.tail;
  node.next = undefined;
  if (level.tail === undefined) level.head = node;
  else level.tail.next = node;
  level.tail = node;
  level.count++;
}

function unlink(level: Level, node: OrderNode): void {
  if (node.prev === undefined) level.head = node.next;
  else node.prev.next = node.next;
  if (node.next === undefined) level.tail = node.prev;
  else node.next.prev = node.prev;
  node.prev = undefined;
  node.next = undefined;
  level.count--;
}

function toOrder(n: OrderNode): L3Order {
  return { id: n.id, side: n.level.side, price: n.level.price, size: n.size.toString() };
}

function checkId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || id.length === 0) {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', 'an order id must be a non-empty string', { orderId: String(id) });
  }
}

function checkSide(side: unknown): asserts side is BookSideName {
  if (side !== 'bid' && side !== 'ask') {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', `side must be 'bid' or 'ask', got ${String(side)}`, {
      side: String(side),
    });
  }
}

function parsePrice(text: string): Decimal {
  const p = Decimal.parse(text);
  if (p.sign() <= 0) throw qobError('QOB_ERR_NONPOSITIVE_PRICE', `price must be positive: ${text}`, { price: text });
  return p.normalize();
}

function parseSize(text: string, name: string): Decimal {
  const s = Decimal.parse(text);
  if (s.sign() < 0) throw qobError('QOB_ERR_NEGATIVE_SIZE', `${name} must not be negative: ${text}`, { [name]: text });
  return s.normalize();
}

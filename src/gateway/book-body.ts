/**
 * The REST book body (`GET /api/v1/books/{venue}/{symbol}`, schema `BOOK_RESPONSE`) encoded once per book
 * version and depth, then served as the same bytes until the book changes: a busy book read by many clients
 * costs one encoding per change, not one per request. The body is written by a serializer compiled for this
 * one shape (the fields of `BOOK_RESPONSE`, in its order), so Fastify's generic response serializer is not
 * run for it.
 *
 * A book's version is what changes whenever its levels can have changed: its level-update counter, the
 * tracked book's message counter, its level counts and price scale (a `clear()` does not count as an update,
 * but changes the level counts). Bounded: at most `MAX_DEPTHS_PER_BOOK` depths are cached per book; one
 * more drops that book's entries. Books are held weakly.
 */
import type { L2Book } from '../book/l2-book.ts';
import type { BookRef } from './source.ts';

export const MAX_DEPTHS_PER_BOOK = 8;

interface Entry {
  bookUpdates: number;
  refUpdates: number;
  bidCount: number;
  askCount: number;
  scale: number;
  ref: string;
  body: Buffer;
}

/** `[{"price":"p","size":"s"},...]` of the `depth` best levels. Prices and sizes are canonical decimal text. */
function levelsJson(book: L2Book, side: 'bid' | 'ask', depth: number): string {
  let out = '[';
  let first = true;
  book.side(side).visit((p, s) => {
    out += `${first ? '' : ','}{"price":"${book.formatPrice(p)}","size":"${book.formatSize(s)}"}`;
    first = false;
    return true;
  }, depth);
  return `${out}]`;
}

/** The body of `BOOK_RESPONSE` for an in-sync `ref` at `depth` (what the generic serializer would write). */
export function encodeBookBody(ref: BookRef, book: L2Book, depth: number): Buffer {
  const head =
    `{"venue":${JSON.stringify(ref.venue)},"symbol":${JSON.stringify(ref.symbol)},` +
    `"venueSymbol":${JSON.stringify(ref.venueSymbol)},"status":"in_sync","depth":${depth},"updates":${ref.updates},`;
  return Buffer.from(`${head}"bids":${levelsJson(book, 'bid', depth)},"asks":${levelsJson(book, 'ask', depth)}}`);
}

export class BookBodyCache {
  private readonly byBook = new WeakMap<L2Book, Map<number, Entry>>();

  /** The encoded body of an in-sync `ref` at `depth`, reused while the book has not changed. */
  body(ref: BookRef, book: L2Book, depth: number): Buffer {
    let entries = this.byBook.get(book);
    if (entries === undefined) {
      entries = new Map();
      this.byBook.set(book, entries);
    }
    const refKey = `${ref.venue}\n${ref.symbol}\n${ref.venueSymbol}`;
    const e = entries.get(depth);
    if (
      e !== undefined &&
      e.bookUpdates === book.updates &&
      e.refUpdates === ref.updates &&
      e.bidCount === book.bids.length &&
      e.askCount === book.asks.length &&
      e.scale === book.priceScale &&
      e.ref === refKey
    ) {
      return e.body;
    }
    const body = encodeBookBody(ref, book, depth);
    if (e === undefined && entries.size >= MAX_DEPTHS_PER_BOOK) entries.clear();
    entries.set(depth, {
      bookUpdates: book.updates,
      refUpdates: ref.updates,
      bidCount: book.bids.length,
      askCount: book.asks.length,
      scale: book.priceScale,
      ref: refKey,
      body,
    });
    return body;
  }
}

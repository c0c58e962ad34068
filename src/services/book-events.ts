/**
 * The book-event tap lives in the ingest layer (src/ingest/book-events.ts) so that lower layers, such as the
 * platform's live store, can use it too; services keep importing it from here.
 */
export { BookEventTap, type BookEventTapOptions, guessSymbol } from '../ingest/book-events.ts';

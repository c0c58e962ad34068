/** Random text mutations of valid frames, for the fast-path scanner property tests (not a test file). */
import fc from 'fast-check';

/** Characters a mutation inserts: JSON structure, digits, signs, escapes, whitespace, letters. */
const mutationChar = fc.constantFrom(...'{}[]",:0123456789.-+eE\\ \t\nabtruefalsn\u0000\u00e9');

export type Mutation =
  | { readonly op: 'delete'; readonly at: number }
  | { readonly op: 'insert' | 'replace'; readonly at: number; readonly c: string }
  | { readonly op: 'duplicate'; readonly at: number; readonly len: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ op: fc.constantFrom('insert' as const, 'replace' as const), at: fc.nat(), c: mutationChar }),
  fc.record({ op: fc.constant('duplicate' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 30 }) }),
);

export const mutations = fc.array(mutation, { minLength: 1, maxLength: 4 });

export function mutate(text: string, ms: readonly Mutation[]): string {
  let t = text;
  for (const m of ms) {
    const i = m.at % (t.length + 1);
    if (m.op === 'delete') t = t.slice(0, i) + t.slice(i + 1);
    else if (m.op === 'insert') t = t.slice(0, i) + m.c + t.slice(i);
    else if (m.op === 'replace') t = t.slice(0, i) + m.c + t.slice(i + 1);
    else if (m.op === 'duplicate') t = t.slice(0, i) + t.slice(i, i + m.len) + t.slice(i);
  }
  return t;
}

const decimal = fc
  .tuple(fc.nat({ max: 10_000_000 }), fc.option(fc.stringMatching(/^[0-9]{1,10}$/), { nil: undefined }))
  .map(([i, f]) => (f === undefined ? String(i) : `${i}.${f}`));
/** Mostly decimals; sometimes any text (escapes, control characters, non-ASCII), which the book judges. */
const levelText = fc.oneof({ weight: 8, arbitrary: decimal }, { weight: 1, arbitrary: fc.string({ maxLength: 6 }) });
export const level = fc.tuple(levelText, levelText);
export const levels = fc.array(level, { maxLength: 25 });
export const id = fc.oneof(fc.nat(), fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.constant(Number.MAX_SAFE_INTEGER));

/** The text JSON.stringify gives a string is the string itself in quotes (no escapes). */
export const plainString = (x: string) => JSON.stringify(x) === `"${x}"`;

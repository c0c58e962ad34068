/**
 * Instruments and the normalized symbol scheme.
 *
 * Normalized symbols (venue-independent, uppercase, `-` separated):
 *   spot          BASE-QUOTE                         BTC-USDT, ETH-EUR
 *   perpetual     BASE-QUOTE-PERP                    BTC-USDT-PERP (linear), BTC-USD-PERP (inverse)
 *   dated future  BASE-QUOTE-YYYYMMDD                BTC-USD-20220527 (UTC date of expiry)
 *   option        BASE-QUOTE-YYYYMMDD-STRIKE-C|P     BTC-USD-20240329-60000-C
 * Asset codes are [A-Z0-9]{1,24} after `normalizeAsset` (XBT -> BTC; USDT stays USDT: it is not USD).
 * Mapping a venue's own symbol (`BTCUSDT`, `XBT/USD`, `tBTCUSD`, `BTC-USD-SWAP`) to this scheme is the
 * venue folder's job; this module holds only the generic scheme.
 *
 * Tick and lot sizes are exact decimal text (canonical: no exponent, no trailing zeros), never floats.
 */
import { isQobError, type QobError, qobError } from '../core/errors.ts';
import { type Decimal, MAX_SCALE } from '../core/fixed.ts';
import { describe, exactDecimal, fieldError } from './internal.ts';
import { parseVenueId, type VenueId } from './venue.ts';

export const INSTRUMENT_KINDS = ['spot', 'perp', 'future', 'option'] as const;
export type InstrumentKind = (typeof INSTRUMENT_KINDS)[number];
export type OptionType = 'call' | 'put';

export interface Instrument {
  readonly venue: VenueId;
  /** The venue's own symbol, verbatim: `BTCUSDT`, `XBT/USD`, `tBTCUSD`, `BTC-USD-SWAP`. */
  readonly venueSymbol: string;
  /** Normalized symbol (scheme above), derived from base, quote, kind, expiry and option terms. */
  readonly symbol: string;
  readonly base: string;
  readonly quote: string;
  readonly kind: InstrumentKind;
  /** Smallest price increment, canonical positive decimal text. */
  readonly tickSize: string;
  /** Smallest quantity increment, canonical positive decimal text. */
  readonly lotSize: string;
  /** Price fraction digits the venue uses (at least the tick size's fraction digits). */
  readonly pricePrecision: number;
  /** Quantity fraction digits the venue uses (at least the lot size's fraction digits). */
  readonly quantityPrecision: number;
  /** Derivatives: the contract multiplier, canonical positive decimal text. */
  readonly contractSize?: string;
  /** Futures and options: expiry as epoch milliseconds (UTC). */
  readonly expiryMs?: number;
  /** Options: strike price, canonical positive decimal text. */
  readonly strike?: string;
  /** Options: call or put. */
  readonly optionType?: OptionType;
}

/** Input of `createInstrument`. Decimals are text or Decimal, never JS numbers (they may have lost digits). */
export interface InstrumentInput {
  readonly venue: VenueId | string;
  readonly venueSymbol: string;
  readonly base: string;
  readonly quote: string;
  readonly kind: InstrumentKind;
  readonly tickSize: string | Decimal;
  readonly lotSize: string | Decimal;
  /** Defaults to the tick size's fraction digits. */
  readonly pricePrecision?: number;
  /** Defaults to the lot size's fraction digits. */
  readonly quantityPrecision?: number;
  readonly contractSize?: string | Decimal;
  readonly expiryMs?: number;
  readonly strike?: string | Decimal;
  readonly optionType?: OptionType;
  /** When given it must equal the symbol derived from the other fields. */
  readonly symbol?: string;
}

/** One problem found by `createInstrument`; all of them are reported together. */
export interface InstrumentProblem {
  readonly field: string;
  readonly problem: string;
  readonly value: string;
}

const ASSET_RE = /^[A-Z0-9]{1,24}$/;
const DATE_RE = /^\d{8}$/;
const MAX_SYMBOL = 100;

/**
 * Aliases applied to every venue's asset codes. XBT (ISO 4217 style) and XDG are Kraken's and BitMEX's
 * names for BTC and DOGE. The four-letter X/Z codes are Kraken's legacy asset names (`XXBTZUSD` =
 * `XXBT` + `ZUSD`); only this explicit list is rewritten, never a bare leading X or Z, because XRP, XLM,
 * XTZ, ZEC and ZRX are real assets.
 */
const ASSET_ALIASES: Readonly<Record<string, string>> = Object.freeze({
  XBT: 'BTC',
  XDG: 'DOGE',
  XXBT: 'BTC',
  XXDG: 'DOGE',
  XETH: 'ETH',
  XETC: 'ETC',
  XLTC: 'LTC',
  XXLM: 'XLM',
  XXMR: 'XMR',
  XXRP: 'XRP',
  XZEC: 'ZEC',
  XMLN: 'MLN',
  XREP: 'REP',
  ZUSD: 'USD',
  ZEUR: 'EUR',
  ZGBP: 'GBP',
  ZCAD: 'CAD',
  ZJPY: 'JPY',
  ZAUD: 'AUD',
  ZCHF: 'CHF',
});

function symbolError(problem: string, value: unknown, field = 'symbol'): QobError {
  return fieldError('QOB_ERR_INVALID_SYMBOL', field, problem, value);
}

/**
 * Our code for an asset: uppercased, aliases applied (table above). Throws QOB_ERR_INVALID_SYMBOL for
 * anything that is not 1 to 24 letters and digits.
 */
export function normalizeAsset(code: string, field = 'asset'): string {
  if (typeof code !== 'string') throw symbolError('asset code must be a string', code, field);
  const upper = code.toUpperCase();
  const n = ASSET_ALIASES[upper] ?? upper;
  if (!ASSET_RE.test(n)) throw symbolError('asset code must be 1 to 24 letters or digits', code, field);
  return n;
}

function isKind(v: unknown): v is InstrumentKind {
  return typeof v === 'string' && (INSTRUMENT_KINDS as readonly string[]).includes(v);
}

/** The UTC calendar date of an epoch-ms instant as YYYYMMDD. */
export function expiryDate(expiryMs: number): string {
  if (!Number.isSafeInteger(expiryMs) || expiryMs < 0 || expiryMs > 8.64e15) {
    throw symbolError('expiry must be a non-negative integer epoch in milliseconds', expiryMs, 'expiryMs');
  }
  const iso = new Date(expiryMs).toISOString(); // 2022-05-27T08:00:00.000Z
  return iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 10);
}

function isCalendarDate(yyyymmdd: string): boolean {
  if (!DATE_RE.test(yyyymmdd)) return false;
  const y = Number(yyyymmdd.slice(0, 4));
  const m = Number(yyyymmdd.slice(4, 6));
  const d = Number(yyyymmdd.slice(6, 8));
  const t = new Date(Date.UTC(y, m - 1, d));
  return y >= 1970 && t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}

export interface OptionTerms {
  readonly strike: string | Decimal;
  readonly optionType: OptionType;
}

/**
 * Builds a normalized symbol. `expiryMs` is required for futures and options and refused otherwise;
 * `option` is required for options only. Assets are normalized first (`XBT` -> `BTC`).
 * Throws QOB_ERR_INVALID_SYMBOL naming the offending field.
 */
export function normalizeSymbol(
  base: string,
  quote: string,
  kind: InstrumentKind,
  expiryMs?: number,
  option?: OptionTerms,
): string {
  const b = normalizeAsset(base, 'base');
  const q = normalizeAsset(quote, 'quote');
  if (b === q) throw symbolError('base and quote must differ', base, 'quote');
  if (!isKind(kind)) throw symbolError(`kind must be one of ${INSTRUMENT_KINDS.join(', ')}`, kind, 'kind');
  const dated = kind === 'future' || kind === 'option';
  if (dated && expiryMs === undefined) throw symbolError(`a ${kind} needs an expiry`, expiryMs, 'expiryMs');
  if (!dated && expiryMs !== undefined) throw symbolError(`a ${kind} has no expiry`, expiryMs, 'expiryMs');
  if (kind !== 'option' && option !== undefined) throw symbolError(`a ${kind} has no option terms`, 'given', 'option');
  switch (kind) {
    case 'spot':
      return `${b}-${q}`;
    case 'perp':
      return `${b}-${q}-PERP`;
    case 'future':
      return `${b}-${q}-${expiryDate(expiryMs as number)}`;
    case 'option': {
      if (option === undefined) throw symbolError('an option needs a strike and a type', option, 'option');
      const strike = exactDecimal(option.strike, 'strike');
      if (strike.sign() <= 0) throw symbolError('strike must be positive', String(option.strike), 'strike');
      if (option.optionType !== 'call' && option.optionType !== 'put') {
        throw symbolError("optionType must be 'call' or 'put'", option.optionType, 'optionType');
      }
      const cp = option.optionType === 'call' ? 'C' : 'P';
      return `${b}-${q}-${expiryDate(expiryMs as number)}-${strike.toString()}-${cp}`;
    }
  }
}

/** The parts of a normalized symbol. */
export interface SymbolParts {
  readonly base: string;
  readonly quote: string;
  readonly kind: InstrumentKind;
  /** Futures and options: the UTC expiry date, YYYYMMDD (the time of day is not in the symbol). */
  readonly expiryDate?: string;
  readonly strike?: string;
  readonly optionType?: OptionType;
}

/**
 * Splits a normalized symbol into its parts. Throws QOB_ERR_INVALID_SYMBOL for anything that is not in
 * the scheme, including assets that are not normalized (`XBT-USD`) and non-canonical strikes.
 */
export function parseNormalizedSymbol(symbol: string): SymbolParts {
  if (typeof symbol !== 'string') throw symbolError('must be a string', symbol);
  if (symbol.length === 0 || symbol.length > MAX_SYMBOL) {
    throw symbolError(`must be 1 to ${MAX_SYMBOL} characters`, symbol);
  }
  const parts = symbol.split('-');
  const [base = '', quote = ''] = parts;
  if (parts.length < 2 || !ASSET_RE.test(base) || !ASSET_RE.test(quote)) {
    throw symbolError('expected BASE-QUOTE[-PERP|-YYYYMMDD[-STRIKE-C|P]] with uppercase assets', symbol);
  }
  if (normalizeAsset(base) !== base || normalizeAsset(quote) !== quote) {
    throw symbolError(`assets are not normalized (${normalizeAsset(base)}-${normalizeAsset(quote)})`, symbol);
  }
  if (base === quote) throw symbolError('base and quote must differ', symbol);
  const freeze = (p: SymbolParts): SymbolParts => Object.freeze(p);
  if (parts.length === 2) return freeze({ base, quote, kind: 'spot' });
  const third = parts[2] ?? '';
  if (parts.length === 3 && third === 'PERP') return freeze({ base, quote, kind: 'perp' });
  if (!isCalendarDate(third)) throw symbolError('third part must be PERP or an expiry date YYYYMMDD', symbol);
  if (parts.length === 3) return freeze({ base, quote, kind: 'future', expiryDate: third });
  const strike = parts[3] ?? '';
  const cp = parts[4];
  if (parts.length !== 5 || (cp !== 'C' && cp !== 'P')) {
    throw symbolError('an option symbol ends with -STRIKE-C or -STRIKE-P', symbol);
  }
  let canonical: string;
  try {
    const d = exactDecimal(strike, 'strike');
    if (d.sign() <= 0) throw new Error('not positive');
    canonical = d.toString();
  } catch {
    throw symbolError('strike must be a positive decimal', symbol);
  }
  if (canonical !== strike) throw symbolError(`strike is not canonical (${canonical})`, symbol);
  return freeze({
    base,
    quote,
    kind: 'option',
    expiryDate: third,
    strike,
    optionType: cp === 'C' ? 'call' : 'put',
  });
}

/**
 * Validates an instrument and returns it frozen. Every problem is collected and reported together in one
 * QOB_ERR_INVALID_ARGUMENT whose context `problems` lists `{ field, problem, value }` for each.
 */
export function createInstrument(input: InstrumentInput): Instrument {
  if (typeof input !== 'object' || input === null) {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', 'instrument input must be an object', {
      problems: [{ field: 'input', problem: 'must be an object', value: describe(input) }],
    });
  }
  const problems: InstrumentProblem[] = [];
  const check = <T>(field: string, f: () => T): T | undefined => {
    try {
      return f();
    } catch (e) {
      if (!isQobError(e)) throw e;
      const c = e.context;
      problems.push({
        field: typeof c.field === 'string' ? c.field : field,
        problem: typeof c.problem === 'string' ? c.problem : e.message,
        value: typeof c.value === 'string' ? c.value : describe(input[field as keyof InstrumentInput]),
      });
      return undefined;
    }
  };
  const argError = (field: string, problem: string, value: unknown) =>
    fieldError('QOB_ERR_INVALID_ARGUMENT', field, problem, value);
  const positive = (field: 'tickSize' | 'lotSize' | 'contractSize' | 'strike') => () => {
    const d = exactDecimal(input[field], field);
    if (d.sign() <= 0) throw argError(field, 'must be positive', String(input[field]));
    return d;
  };
  const precision = (field: 'pricePrecision' | 'quantityPrecision', min: number | undefined) => () => {
    const v = input[field];
    if (v === undefined) return min;
    if (!Number.isInteger(v) || v < 0 || v > MAX_SCALE) {
      throw argError(field, `must be an integer from 0 to ${MAX_SCALE}`, v);
    }
    if (min !== undefined && v < min) throw argError(field, `is below the ${min} fraction digits of its step`, v);
    return v;
  };

  const venue = check('venue', () => parseVenueId(input.venue));
  const venueSymbol = check('venueSymbol', () => {
    const s = input.venueSymbol;
    if (typeof s !== 'string' || s.length === 0 || s.length > MAX_SYMBOL || !/^[\x21-\x7e]+$/.test(s)) {
      throw argError('venueSymbol', `must be 1 to ${MAX_SYMBOL} printable ASCII characters without spaces`, s);
    }
    return s;
  });
  const base = check('base', () => normalizeAsset(input.base, 'base'));
  const quote = check('quote', () => normalizeAsset(input.quote, 'quote'));
  const kind = check('kind', () => {
    if (!isKind(input.kind)) throw argError('kind', `must be one of ${INSTRUMENT_KINDS.join(', ')}`, input.kind);
    return input.kind;
  });
  const tick = check('tickSize', positive('tickSize'));
  const lot = check('lotSize', positive('lotSize'));
  const pricePrecision = check('pricePrecision', precision('pricePrecision', tick?.scale));
  const quantityPrecision = check('quantityPrecision', precision('quantityPrecision', lot?.scale));
  const contractSize = input.contractSize === undefined ? undefined : check('contractSize', positive('contractSize'));
  const dated = kind === 'future' || kind === 'option';
  const expiryMs = check('expiryMs', () => {
    const v = input.expiryMs;
    if (v === undefined) {
      if (dated) throw argError('expiryMs', `a ${kind} needs an expiry`, v);
      return undefined;
    }
    if (kind !== undefined && !dated) throw argError('expiryMs', `a ${kind} has no expiry`, v);
    expiryDate(v);
    return v;
  });
  let strike: Decimal | undefined;
  let optionType: OptionType | undefined;
  if (kind === 'option') {
    if (input.strike === undefined)
      problems.push({ field: 'strike', problem: 'an option needs a strike', value: 'undefined' });
    else strike = check('strike', positive('strike'));
    optionType = check('optionType', () => {
      const t = input.optionType;
      if (t !== 'call' && t !== 'put') throw argError('optionType', "must be 'call' or 'put'", t);
      return t;
    });
  } else {
    if (input.strike !== undefined)
      problems.push({ field: 'strike', problem: `a ${kind} has no strike`, value: describe(input.strike) });
    if (input.optionType !== undefined) {
      problems.push({
        field: 'optionType',
        problem: `a ${kind} has no option type`,
        value: describe(input.optionType),
      });
    }
  }
  let symbol: string | undefined;
  if (problems.length === 0) {
    symbol = check('symbol', () =>
      normalizeSymbol(
        base as string,
        quote as string,
        kind as InstrumentKind,
        expiryMs,
        strike === undefined ? undefined : { strike, optionType: optionType as OptionType },
      ),
    );
    if (symbol !== undefined && input.symbol !== undefined && input.symbol !== symbol) {
      problems.push({
        field: 'symbol',
        problem: `does not match the derived symbol ${symbol}`,
        value: describe(input.symbol),
      });
    }
  }
  if (problems.length > 0) {
    const summary = problems.map((p) => `${p.field}: ${p.problem}`).join('; ');
    throw qobError('QOB_ERR_INVALID_ARGUMENT', `invalid instrument ${describe(input.venueSymbol)}: ${summary}`, {
      venue: describe(input.venue),
      venueSymbol: describe(input.venueSymbol),
      problems: Object.freeze(problems.map((p) => Object.freeze(p))),
    });
  }
  const out: {
    -readonly [K in keyof Instrument]: Instrument[K];
  } = {
    venue: venue as VenueId,
    venueSymbol: venueSymbol as string,
    symbol: symbol as string,
    base: base as string,
    quote: quote as string,
    kind: kind as InstrumentKind,
    tickSize: (tick as Decimal).toString(),
    lotSize: (lot as Decimal).toString(),
    pricePrecision: pricePrecision as number,
    quantityPrecision: quantityPrecision as number,
  };
  if (contractSize !== undefined) out.contractSize = contractSize.toString();
  if (expiryMs !== undefined) out.expiryMs = expiryMs;
  if (strike !== undefined) out.strike = strike.toString();
  if (optionType !== undefined) out.optionType = optionType;
  return Object.freeze(out);
}

function isMultiple(value: unknown, step: string, field: string): boolean {
  const v = exactDecimal(value, field);
  const s = exactDecimal(step, 'step');
  const scale = Math.max(v.scale, s.scale);
  const a = v.rescale(scale) as Decimal;
  const b = s.rescale(scale) as Decimal;
  return a.coef % b.coef === 0n;
}

/** Whether `price` is a whole number of ticks. Throws a typed decimal error (field `price`) on bad text. */
export function isTickAligned(instrument: Instrument, price: string | Decimal): boolean {
  return isMultiple(price, instrument.tickSize, 'price');
}

/** Whether `size` is a whole number of lots. Throws a typed decimal error (field `size`) on bad text. */
export function isLotAligned(instrument: Instrument, size: string | Decimal): boolean {
  return isMultiple(size, instrument.lotSize, 'size');
}

/**
 * The emulator's venues. Adding one is one file in this folder implementing `EmulatorVenueModule`
 * (../venue.ts) and one line here.
 */
import type { EmulatorVenueModule } from '../venue.ts';
import { binanceEmulator, binanceUsdmEmulator } from './binance.ts';
import { bitfinexEmulator } from './bitfinex.ts';
import { bitstampEmulator } from './bitstamp.ts';
import { bybitEmulator } from './bybit.ts';
import { coinbaseEmulator } from './coinbase.ts';
import { krakenEmulator } from './kraken.ts';
import { okxEmulator } from './okx.ts';

export const EMULATOR_VENUES: readonly EmulatorVenueModule[] = [
  binanceEmulator,
  binanceUsdmEmulator,
  bybitEmulator,
  okxEmulator,
  krakenEmulator,
  coinbaseEmulator,
  bitstampEmulator,
  bitfinexEmulator,
];

/**
 * The emulator's venues. Adding one (kraken, coinbase, bitstamp, bitfinex) is one file in this folder
 * implementing `EmulatorVenueModule` (../venue.ts) and one line here.
 */
import type { EmulatorVenueModule } from '../venue.ts';
import { binanceEmulator, binanceUsdmEmulator } from './binance.ts';
import { bybitEmulator } from './bybit.ts';
import { okxEmulator } from './okx.ts';

export const EMULATOR_VENUES: readonly EmulatorVenueModule[] = [
  binanceEmulator,
  binanceUsdmEmulator,
  bybitEmulator,
  okxEmulator,
];

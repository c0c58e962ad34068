import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isQobError } from '../../src/core/errors.ts';
import {
  binanceSpotConnector,
  binanceUsdmConnector,
  parseBinanceExchangeInfo,
} from '../../src/venues/binance/connector.ts';
import { bybitConnector, parseBybitInstruments } from '../../src/venues/bybit/connector.ts';
import { VENUES } from '../../src/venues/index.ts';
import { okxConnector, parseOkxInstruments } from '../../src/venues/okx/connector.ts';

const syms = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i));

describe('connector specs', () => {
  test('the default endpoints are the venues’ public production endpoints', () => {
    assert.deepEqual(binanceSpotConnector.defaultEndpoints, {
      wsBase: 'wss://stream.binance.com:9443',
      restBase: 'https://api.binance.com',
    });
    assert.deepEqual(binanceUsdmConnector.defaultEndpoints, {
      wsBase: 'wss://fstream.binance.com',
      restBase: 'https://fapi.binance.com',
    });
    assert.deepEqual(bybitConnector.defaultEndpoints, {
      wsBase: 'wss://stream.bybit.com',
      restBase: 'https://api.bybit.com',
    });
    assert.deepEqual(okxConnector.defaultEndpoints, {
      wsBase: 'wss://ws.okx.com:8443/ws/v5/public',
      restBase: 'https://www.okx.com',
    });
  });

  test('binance puts at most 200 depth streams on a connection, in the URL, and snapshots at limit 5000 (weight 250)', () => {
    const plans = binanceSpotConnector.plan(
      syms(450, (i) => `S${i}USDT`),
      binanceSpotConnector.defaultEndpoints,
    );
    assert.deepEqual(
      plans.map((p) => p.symbols.length),
      [200, 200, 50],
    );
    assert.ok(
      plans[0]?.url.startsWith(
        'wss://stream.binance.com:9443/stream?streams=s0usdt@depth@100ms/s0usdt@trade/s1usdt@depth@100ms/s1usdt@trade/',
      ),
    );
    const r = binanceSpotConnector.recovery('BTCUSDT', plans[0] as never, binanceSpotConnector.defaultEndpoints);
    assert.deepEqual(r, {
      kind: 'rest-snapshot',
      request: { url: 'https://api.binance.com/api/v3/depth?symbol=BTCUSDT&limit=5000', weight: 250 },
    });
    assert.equal(binanceSpotConnector.snapshotOnConnect, true);
    assert.equal(binanceSpotConnector.maxConnectionMs, 24 * 3600_000);
  });

  test('bybit splits spot and linear sockets and batches at most 10 topics per subscribe frame', () => {
    const plans = bybitConnector.plan(
      [...syms(25, (i) => `spot:S${i}USDT`), 'linear:BTCUSDT', 'ETHUSDT'],
      bybitConnector.defaultEndpoints,
    );
    assert.deepEqual(
      plans.map((p) => [p.url, p.symbols.length, p.onOpen.length]),
      [
        // 3 (or 1) frames of book topics, then as many of publicTrade topics.
        ['wss://stream.bybit.com/v5/public/spot', 25, 6],
        ['wss://stream.bybit.com/v5/public/linear', 2, 2],
      ],
    );
    for (const p of plans) {
      for (const f of p.onOpen) assert.ok((JSON.parse(f) as { args: string[] }).args.length <= 10);
    }
    assert.deepEqual(plans[1]?.symbols, ['linear:BTCUSDT', 'linear:ETHUSDT']);
    assert.match(plans[1]?.onOpen[0] ?? '', /orderbook\.1000\.BTCUSDT/);
    assert.equal(plans[1]?.onOpen[1], '{"op":"subscribe","args":["publicTrade.BTCUSDT","publicTrade.ETHUSDT"]}');
    assert.equal(bybitConnector.appPing?.frame, '{"op":"ping"}');
    assert.equal(bybitConnector.appPing?.intervalMs, 20_000);
    assert.equal(bybitConnector.appPing?.isPong('{"success":true,"ret_msg":"pong","conn_id":"x","op":"ping"}'), true);
    assert.equal(bybitConnector.appPing?.isPong('{"req_id":"1","op":"pong","args":["1"],"conn_id":"x"}'), true);
    assert.equal(bybitConnector.appPing?.isPong('{"topic":"orderbook.1000.BTCUSDT"}'), false);
  });

  test('okx subscribes the 400-level books channel in batches and pings with the text "ping"', () => {
    const plans = okxConnector.plan(
      syms(45, (i) => `S${i}-USDT`),
      okxConnector.defaultEndpoints,
    );
    assert.equal(plans.length, 1);
    assert.equal(plans[0]?.onOpen.length, 6); // 3 frames of books args, then 3 of trades args
    const trades = JSON.parse(plans[0]?.onOpen[3] ?? '{}') as { args: { channel: string; instId: string }[] };
    assert.deepEqual(trades.args[0], { channel: 'trades', instId: 'S0-USDT' });
    const first = JSON.parse(plans[0]?.onOpen[0] ?? '{}') as { op: string; args: { channel: string }[] };
    assert.equal(first.op, 'subscribe');
    assert.equal(first.args.length, 20);
    assert.equal(first.args[0]?.channel, 'books');
    assert.equal(okxConnector.appPing?.frame, 'ping');
    assert.equal(okxConnector.appPing?.isPong('pong'), true);
    const r = okxConnector.recovery('BTC-USDT', plans[0] as never, okxConnector.defaultEndpoints);
    assert.equal(r.kind, 'resubscribe');
  });

  test('the specs are registered next to their feed handlers', () => {
    const ids = VENUES.filter((v) => v.connector !== undefined).map((v) => [v.id, v.connector?.venue]);
    for (const id of ['binance', 'binance-usdm', 'bybit', 'okx'])
      assert.deepEqual(
        ids.find(([i]) => i === id),
        [id, id],
      );
  });
});

describe('instrument discovery parsers', () => {
  test('binance exchangeInfo gives trading instruments with exact tick and lot sizes', () => {
    const body = JSON.stringify({
      symbols: [
        {
          symbol: 'BTCUSDT',
          status: 'TRADING',
          baseAsset: 'BTC',
          quoteAsset: 'USDT',
          filters: [
            { filterType: 'PRICE_FILTER', tickSize: '0.01000000' },
            { filterType: 'LOT_SIZE', stepSize: '0.00001000' },
          ],
        },
        { symbol: 'OLDUSDT', status: 'BREAK', baseAsset: 'OLD', quoteAsset: 'USDT', filters: [] },
      ],
    });
    const [i, ...rest] = parseBinanceExchangeInfo('binance', body);
    assert.equal(rest.length, 0);
    assert.equal(i?.symbol, 'BTC-USDT');
    assert.equal(i?.tickSize, '0.01');
    assert.equal(i?.lotSize, '0.00001');
    assert.equal(i?.pricePrecision, 2);
    assert.throws(
      () => parseBinanceExchangeInfo('binance', '{"nope":1}'),
      (e: unknown) => isQobError(e, 'QOB_ERR_MALFORMED_MESSAGE'),
    );
  });

  test('binance USD-M perpetuals and quarterlies map to perp and dated futures', () => {
    const f = (symbol: string, contractType: string, deliveryDate?: number) => ({
      symbol,
      status: 'TRADING',
      contractType,
      deliveryDate,
      baseAsset: 'BTC',
      quoteAsset: 'USDT',
      filters: [
        { filterType: 'PRICE_FILTER', tickSize: '0.10' },
        { filterType: 'LOT_SIZE', stepSize: '0.001' },
      ],
    });
    const out = parseBinanceExchangeInfo(
      'binance-usdm',
      JSON.stringify({ symbols: [f('BTCUSDT', 'PERPETUAL'), f('BTCUSDT_261225', 'CURRENT_QUARTER', 1798185600000)] }),
    );
    assert.deepEqual(
      out.map((i) => i.symbol),
      ['BTC-USDT-PERP', 'BTC-USDT-20261225'],
    );
  });

  test('bybit instruments-info (linear and spot) and okx instruments parse into normalized instruments', () => {
    const linear = JSON.stringify({
      retCode: 0,
      result: {
        category: 'linear',
        list: [
          {
            symbol: 'BTCUSDT',
            contractType: 'LinearPerpetual',
            status: 'Trading',
            baseCoin: 'BTC',
            quoteCoin: 'USDT',
            priceFilter: { tickSize: '0.10' },
            lotSizeFilter: { qtyStep: '0.001' },
          },
        ],
      },
    });
    assert.equal(parseBybitInstruments(linear)[0]?.symbol, 'BTC-USDT-PERP');
    const spot = JSON.stringify({
      retCode: 0,
      result: {
        category: 'spot',
        list: [
          {
            symbol: 'ETHUSDT',
            status: 'Trading',
            baseCoin: 'ETH',
            quoteCoin: 'USDT',
            priceFilter: { tickSize: '0.01' },
            lotSizeFilter: { basePrecision: '0.00001' },
          },
        ],
      },
    });
    assert.equal(parseBybitInstruments(spot)[0]?.lotSize, '0.00001');
    const okx = JSON.stringify({
      code: '0',
      data: [
        {
          instType: 'SPOT',
          instId: 'BTC-USDT',
          baseCcy: 'BTC',
          quoteCcy: 'USDT',
          tickSz: '0.1',
          lotSz: '0.00000001',
          state: 'live',
        },
        {
          instType: 'SWAP',
          instId: 'BTC-USDT-SWAP',
          uly: 'BTC-USDT',
          ctVal: '0.01',
          tickSz: '0.1',
          lotSz: '0.01',
          state: 'live',
        },
        {
          instType: 'SPOT',
          instId: 'X-USDT',
          baseCcy: 'X',
          quoteCcy: 'USDT',
          tickSz: '0.1',
          lotSz: '1',
          state: 'suspend',
        },
      ],
    });
    const o = parseOkxInstruments(okx);
    assert.deepEqual(
      o.map((i) => [i.symbol, i.contractSize]),
      [
        ['BTC-USDT', undefined],
        ['BTC-USDT-PERP', '0.01'],
      ],
    );
    assert.throws(
      () => parseOkxInstruments('{"code":"50011","msg":"too many"}'),
      (e: unknown) => isQobError(e, 'QOB_ERR_MALFORMED_MESSAGE'),
    );
  });
});

import { type CandlestickData, CandlestickSeries, createChart, type UTCTimestamp } from 'lightweight-charts';
import { useEffect, useRef } from 'react';
import type { Candle, MarketStore } from '../market/store.ts';
import { THEME } from '../render/colors.ts';

function bar(c: Candle): CandlestickData<UTCTimestamp> {
  // Numbers for pixels only; the exact text stays in the store.
  return {
    time: Math.floor(c.t / 1000) as UTCTimestamp,
    open: Number(c.open),
    high: Number(c.high),
    low: Number(c.low),
    close: Number(c.close),
  };
}

/** Candles with TradingView lightweight-charts, fed straight from the store (no React state). */
export function Candles(props: { store: MarketStore }) {
  const host = useRef<HTMLDivElement>(null);
  const { store } = props;
  useEffect(() => {
    const el = host.current;
    if (el === null) return;
    const chart = createChart(el, {
      autoSize: true,
      layout: { background: { color: THEME.panel }, textColor: THEME.dim, attributionLogo: false },
      grid: { vertLines: { color: THEME.grid }, horzLines: { color: THEME.grid } },
      timeScale: { timeVisible: true, secondsVisible: true },
    });
    const series = chart.addSeries(CandlestickSeries, {
      upColor: THEME.bid,
      downColor: THEME.ask,
      borderVisible: false,
      wickUpColor: THEME.bid,
      wickDownColor: THEME.ask,
    });
    let lastTime = 0;
    const off = store.onCandles((kind, candles) => {
      if (kind === 'snapshot') {
        const data = candles.map(bar);
        series.setData(data);
        lastTime = data[data.length - 1]?.time ?? 0;
        el.dataset.candles = String(data.length);
        return;
      }
      for (const c of candles) {
        const b = bar(c);
        if (b.time < lastTime) continue; // lightweight-charts only updates the last bar or appends
        series.update(b);
        lastTime = b.time;
      }
      el.dataset.candles = String(store.candles.length);
    });
    return () => {
      off();
      chart.remove();
    };
  }, [store]);
  return <div className="candles" ref={host} data-testid="candles" />;
}

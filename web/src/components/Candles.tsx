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

/**
 * Chart updates are applied at most this often: a 1 s candle chart reads fine at 10 Hz, and each update
 * redraws the chart's canvases (with the 25 ms /ws tick, trade deltas can arrive 40 times a second).
 */
const CHART_UPDATE_MS = 100;

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
    /** Candles of deltas not applied yet, by bucket start (a later one replaces an earlier one). */
    const pending = new Map<number, Candle>();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const flush = (): void => {
      timer = undefined;
      for (const c of [...pending.values()].sort((a, b) => a.t - b.t)) {
        const b = bar(c);
        if (b.time < lastTime) continue; // lightweight-charts only updates the last bar or appends
        series.update(b);
        lastTime = b.time;
      }
      pending.clear();
      el.dataset.candles = String(store.candles.length);
    };
    const off = store.onCandles((kind, candles) => {
      if (kind === 'snapshot') {
        pending.clear();
        if (timer !== undefined) clearTimeout(timer);
        timer = undefined;
        const data = candles.map(bar);
        series.setData(data);
        lastTime = data[data.length - 1]?.time ?? 0;
        el.dataset.candles = String(data.length);
        return;
      }
      for (const c of candles) pending.set(c.t, c);
      timer ??= setTimeout(flush, CHART_UPDATE_MS);
    });
    return () => {
      off();
      if (timer !== undefined) clearTimeout(timer);
      chart.remove();
    };
  }, [store]);
  return <div className="candles" ref={host} data-testid="candles" />;
}

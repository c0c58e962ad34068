import { useCallback, useEffect, useRef, useSyncExternalStore } from 'react';
import { Candles } from './components/Candles.tsx';
import { Selector } from './components/Selector.tsx';
import { ConnectionIndicator, StatusPanel } from './components/StatusPanel.tsx';
import type { MarketFeed } from './market/feed.ts';
import { CONSOLIDATED, type MarketStore, type Selection } from './market/store.ts';
import { venueColor } from './render/colors.ts';
import { type FrameStats, startRenderLoop } from './render/loop.ts';

export function App(props: { store: MarketStore; feed: MarketFeed; onStats?: (s: FrameStats) => void }) {
  const { store, feed, onStats } = props;
  const ui = useSyncExternalStore(store.subscribe, store.getSnapshot);
  const ladderHost = useRef<HTMLDivElement>(null);
  const ladder = useRef<HTMLCanvasElement>(null);
  const depth = useRef<HTMLCanvasElement>(null);
  const heatmap = useRef<HTMLCanvasElement>(null);
  const tape = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const loop = startRenderLoop(store, {
      ladder: ladder.current,
      ladderHost: ladderHost.current,
      depth: depth.current,
      heatmap: heatmap.current,
      tape: tape.current,
    });
    onStats?.(loop.stats);
    return () => loop.stop();
  }, [store, onStats]);

  const select = useCallback((s: Selection) => feed.select(s), [feed]);
  const lastMsg = useCallback(() => store.lastMsgMs, [store]);
  const consolidated = ui.selection.venue === CONSOLIDATED;
  const symbolVenues = ui.status?.books.filter((b) => b.symbol === ui.selection.symbol).map((b) => b.venue) ?? [];

  return (
    <div className="app">
      <header>
        <h1>Quantum Order Book</h1>
        <Selector selection={ui.selection} status={ui.status} onSelect={select} />
        <ConnectionIndicator connection={ui.connection} lastMsgMs={lastMsg} />
      </header>
      {ui.channelError !== undefined ? <div className="error-banner">{ui.channelError}</div> : null}
      <main>
        <section className="panel ladder-panel">
          <h2>
            Book · {ui.selection.venue} {ui.selection.symbol}
          </h2>
          {consolidated ? (
            <div className="legend">
              {[...new Set(symbolVenues)].map((v) => (
                <span key={v}>
                  <span className="swatch" style={{ background: venueColor(v) }} />
                  {v}
                </span>
              ))}
            </div>
          ) : null}
          <div className="ladder" ref={ladderHost} data-testid="ladder">
            <canvas ref={ladder} />
          </div>
        </section>
        <section className="panel heatmap-panel">
          <h2>Liquidity heatmap (60 s)</h2>
          <canvas ref={heatmap} data-testid="heatmap" />
        </section>
        <section className="panel depth-panel">
          <h2>Depth</h2>
          <canvas ref={depth} data-testid="depth" />
        </section>
        <section className="panel candles-panel">
          <h2>Candles (1 s)</h2>
          {consolidated ? <div className="dim pad">candles are per venue: pick a venue</div> : null}
          <Candles store={store} />
        </section>
        <section className="panel tape-panel">
          <h2>Trades</h2>
          {consolidated ? <div className="dim pad">trades are per venue: pick a venue</div> : null}
          <div className="tape" ref={tape} data-testid="tape" />
        </section>
        <section className="panel status-panel-wrap">
          <h2>Venues and books</h2>
          <StatusPanel status={ui.status} />
        </section>
      </main>
    </div>
  );
}

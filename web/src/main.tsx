/**
 * Entry point: learns where the WebSocket API is (`/config.json` from the dashboard server, or `?ws=` in
 * the address), builds the store and the feed outside React, then renders the app. `window.__qob` exposes
 * the store, feed and frame stats to end-to-end tests and to the console.
 */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { MarketFeed } from './market/feed.ts';
import { MarketStore, type Selection } from './market/store.ts';
import type { FrameStats } from './render/loop.ts';
import './styles.css';

interface PageConfig {
  ws?: string;
  api?: string;
}

async function loadConfig(): Promise<PageConfig> {
  const q = new URLSearchParams(location.search);
  const ws = q.get('ws');
  if (ws !== null) return { ws };
  try {
    const res = await fetch('./config.json', { cache: 'no-store' });
    if (res.ok) return (await res.json()) as PageConfig;
  } catch {
    // fall through to the default below
  }
  return { ws: `ws://${location.hostname}:8080/ws` };
}

async function main(): Promise<void> {
  const config = await loadConfig();
  const q = new URLSearchParams(location.search);
  const selection: Selection = { venue: q.get('venue') ?? 'sim', symbol: q.get('symbol') ?? 'BTC-USDT' };
  const url = config.ws ?? `ws://${location.hostname}:8080/ws`;
  const store = new MarketStore(selection, url);
  const feed = new MarketFeed(store, url);
  const w = window as unknown as { __qob: { store: MarketStore; feed: MarketFeed; stats?: FrameStats } };
  w.__qob = { store, feed };
  feed.start();
  const root = document.getElementById('root');
  if (root === null) return;
  createRoot(root).render(
    <StrictMode>
      <App
        store={store}
        feed={feed}
        onStats={(s) => {
          w.__qob.stats = s;
        }}
      />
    </StrictMode>,
  );
}

void main();

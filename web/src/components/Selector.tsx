import { useMemo } from 'react';
import { CONSOLIDATED, type PlatformStatus, type Selection } from '../market/store.ts';

/** Venue (or consolidated) and symbol, from what the status channel says the platform runs. */
export function Selector(props: {
  selection: Selection;
  status: PlatformStatus | undefined;
  onSelect: (s: Selection) => void;
}) {
  const { selection, status, onSelect } = props;
  const symbolsByVenue = useMemo(() => {
    const m = new Map<string, Set<string>>();
    for (const b of status?.books ?? []) {
      if (b.status === 'unsupported') continue;
      let set = m.get(b.venue);
      if (set === undefined) m.set(b.venue, (set = new Set()));
      set.add(b.symbol);
    }
    const all = new Set<string>();
    for (const s of m.values()) for (const x of s) all.add(x);
    m.set(CONSOLIDATED, all);
    return m;
  }, [status]);
  const venues = [...symbolsByVenue.keys()];
  if (!venues.includes(selection.venue)) venues.push(selection.venue);
  const symbols = [...(symbolsByVenue.get(selection.venue) ?? [])].sort();
  if (!symbols.includes(selection.symbol)) symbols.unshift(selection.symbol);
  return (
    <div className="selector">
      <label>
        venue
        <select
          data-testid="venue-select"
          value={selection.venue}
          onChange={(e) => {
            const venue = e.target.value;
            const syms = symbolsByVenue.get(venue);
            const symbol = syms === undefined || syms.has(selection.symbol) ? selection.symbol : ([...syms][0] ?? '');
            onSelect({ venue, symbol });
          }}
        >
          {venues.map((v) => (
            <option key={v} value={v}>
              {v}
            </option>
          ))}
        </select>
      </label>
      <label>
        symbol
        <select
          data-testid="symbol-select"
          value={selection.symbol}
          onChange={(e) => onSelect({ venue: selection.venue, symbol: e.target.value })}
        >
          {symbols.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
    </div>
  );
}

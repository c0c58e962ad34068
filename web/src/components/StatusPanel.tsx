import { useEffect, useState } from 'react';
import type { ConnectionInfo, PlatformStatus } from '../market/store.ts';
import { venueColor } from '../render/colors.ts';

/** A status is only as fresh as its age: the server's age plus the time since the server measured it. */
function ageText(ms: number | null): string {
  if (ms === null) return 'never';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min`;
}

function ageClass(ms: number | null): string {
  if (ms === null || ms > 10_000) return 'bad';
  if (ms > 2000) return 'warn';
  return 'ok';
}

function useNow(periodMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), periodMs);
    return () => clearInterval(id);
  }, [periodMs]);
  return now;
}

export function ConnectionIndicator(props: { connection: ConnectionInfo; lastMsgMs: () => number | undefined }) {
  const now = useNow(250);
  const { connection } = props;
  const last = props.lastMsgMs();
  const age = last === undefined ? null : Math.max(0, now - last);
  const cls = connection.state === 'open' ? (age !== null && age > 5000 ? 'warn' : 'ok') : 'bad';
  return (
    <div className={`conn ${cls}`} data-testid="connection" data-state={connection.state} data-opens={connection.opens}>
      <span className="dot" />
      {connection.state}
      {connection.opens > 1 ? ` (reconnected ${connection.opens - 1}×)` : ''}
      <span className="dim"> · last message {ageText(age)} ago</span>
      {connection.lastError !== undefined && connection.state !== 'open' ? (
        <span className="dim"> · {connection.lastError}</span>
      ) : null}
    </div>
  );
}

export function StatusPanel(props: { status: PlatformStatus | undefined }) {
  const now = useNow(500);
  const { status } = props;
  if (status === undefined) return <div className="status-panel dim">waiting for the status channel…</div>;
  // The status itself ages: everything below is as of status.tsMs, so add how long ago that was.
  const statusAge = Math.max(0, now - status.receivedMs);
  return (
    <div className="status-panel" data-testid="status-panel">
      <div className={`dim ${ageClass(statusAge)}`}>status received {ageText(statusAge)} ago</div>
      <table>
        <thead>
          <tr>
            <th>venue</th>
            <th>state</th>
            <th>frames/s</th>
            <th>in sync</th>
          </tr>
        </thead>
        <tbody>
          {status.venues.map((v) => (
            <tr key={v.venue} title={v.reason}>
              <td>
                <span className="swatch" style={{ background: venueColor(v.venue) }} />
                {v.venue}
              </td>
              <td className={v.state === 'connected' ? 'ok' : v.state === 'unavailable' ? 'dim' : 'warn'}>{v.state}</td>
              <td>{v.framesPerSec}</td>
              <td>
                {v.booksInSync}/{v.books}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <table>
        <thead>
          <tr>
            <th>book</th>
            <th>status</th>
            <th>age</th>
            <th>upd/s</th>
          </tr>
        </thead>
        <tbody>
          {status.books
            .filter((b) => b.status !== 'unsupported')
            .map((b) => {
              const age = b.ageMs === null ? null : b.ageMs + statusAge;
              return (
                <tr key={`${b.venue}.${b.symbol}`} title={b.reason ?? ''}>
                  <td>
                    {b.venue} {b.symbol}
                  </td>
                  <td className={b.status === 'in_sync' ? 'ok' : 'warn'}>{b.status}</td>
                  <td className={ageClass(age)}>{ageText(age)}</td>
                  <td>{b.updatesPerSec}</td>
                </tr>
              );
            })}
        </tbody>
      </table>
    </div>
  );
}

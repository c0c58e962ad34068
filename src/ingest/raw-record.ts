/**
 * One raw event at the transport boundary, as the connector sees it and as `qob record` writes it: the
 * venue's bytes verbatim, with our receive time. Replays feed these back through the same feed handlers.
 */
export type RawRecordType = 'connect' | 'disconnect' | 'send' | 'recv' | 'http';

export interface RawRecord {
  readonly t: RawRecordType;
  readonly venue: string;
  /** The connection id (`ConnectionPlan.id`), or `<venue>.http` for REST responses. */
  readonly conn: string;
  /** Our receive (or send) time, epoch milliseconds, fractional. */
  readonly tsMs: number;
  /** The frame or body text, verbatim (send, recv, http); absent for connect/disconnect. */
  readonly data?: string;
  /** The connection URL (connect) or the request URL (http). */
  readonly url?: string;
  /** Connection epoch (increments on every new connection of the connector). */
  readonly epoch?: number;
}

/** Receives every raw record of a connector, in order (recorders, metrics). Must not throw or block. */
export type RawTap = (record: RawRecord) => void;

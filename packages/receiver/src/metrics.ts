import type { RefusalReason } from './result.js';

export interface ReceiverMetrics {
  connected: boolean;
  /** Tokens are not accepted locally now: see `whenStale`. */
  stale: boolean;
  /** Milliseconds since the last heartbeat's view of the server (its lag included); null before one. */
  lastHeardMsAgo: number | null;
  /** The last event's receipt time minus its `timestamp`. */
  lastEventLagMs: number | null;
  /** Ended sessions whose tokens are still refused. */
  deniedSessions: number;
  /** The last event applied. */
  cursor: string | null;
  reconnects: number;
  /** Introspection requests sent (coalesced verifications count once). */
  introspections: number;
  accepted: { local: number; introspection: number };
  refusals: Record<RefusalReason, number>;
}

/** The metrics in Prometheus' text exposition format, names prefixed `auth_receiver_`. */
export function metricsText(m: ReceiverMetrics): string {
  const lines: string[] = [];
  const metric = (name: string, type: 'gauge' | 'counter', help: string, samples: [labels: string, value: number | null][]) => {
    lines.push(`# HELP auth_receiver_${name} ${help}`, `# TYPE auth_receiver_${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`auth_receiver_${name}${labels} ${value === null ? 'NaN' : value}`);
  };
  const seconds = (ms: number | null) => (ms === null ? null : ms / 1000);
  metric('connected', 'gauge', 'Whether the event stream is open.', [['', Number(m.connected)]]);
  metric('stale', 'gauge', 'Whether tokens are refused or introspected instead of accepted locally.', [['', Number(m.stale)]]);
  metric('last_heard_age_seconds', 'gauge', "Time since the last heartbeat's view of the server.", [['', seconds(m.lastHeardMsAgo)]]);
  metric('last_event_lag_seconds', 'gauge', "The last event's receipt time minus its timestamp.", [['', seconds(m.lastEventLagMs)]]);
  metric('denied_sessions', 'gauge', 'Ended sessions whose tokens are still refused.', [['', m.deniedSessions]]);
  metric('reconnects_total', 'counter', 'Event stream reconnections.', [['', m.reconnects]]);
  metric('introspections_total', 'counter', 'Introspection requests sent.', [['', m.introspections]]);
  metric('accepted_total', 'counter', 'Tokens accepted.', [
    ['{via="local"}', m.accepted.local],
    ['{via="introspection"}', m.accepted.introspection],
  ]);
  metric(
    'refusals_total',
    'counter',
    'Tokens refused, by reason.',
    Object.entries(m.refusals).map(([reason, count]) => [`{reason="${reason}"}`, count]),
  );
  return `${lines.join('\n')}\n`;
}

import { Injectable } from '@nestjs/common';
import { Database } from '../database/database.js';

/** What PostgreSQL is told on the commit of an event, so that listeners read the feed at once. */
export const SESSION_EVENTS_CHANNEL = 'session_events';

/**
 * Event ids are taken under this transaction-scoped lock, held until commit: so they are taken in
 * commit order, and a reader that has seen id n will never see a smaller one appear later.
 */
const ORDER_LOCK = 7_365_121_001;

/**
 * The one writer of `session_events`. A session's end writes its event in the same statement
 * (sessions.repository.ts embeds this after its `ended` rows: id, user_id, reason, version,
 * deny_until), so no path can end a session without it. The lock and the notification are only
 * taken when a row is to end, and only once every row the statement ends is locked (`targets`,
 * read whole first): a statement never holds the order lock while it waits for a row.
 */
export const RECORD_SESSION_ENDS = (ended: string, targets: string) => `
  ordered AS (
    SELECT pg_advisory_xact_lock(${ORDER_LOCK}) AS locked, pg_notify('${SESSION_EVENTS_CHANNEL}', '') AS notified
      FROM (SELECT count(*) AS n FROM ${targets}) t WHERE t.n > 0
  ),
  recorded AS (
    INSERT INTO session_events (session_id, user_id, reason, version, deny_until)
    SELECT e.id, e.user_id, e.reason, e.version, e.deny_until FROM ${ended} e, ordered
  )`;

/** An event as the feed, the stream and the webhooks carry it. */
export interface SessionEndedEvent {
  id: string;
  type: 'session.ended';
  timestamp: Date;
  data: { sessionId: string; userId: string; reason: string; version: number; denyUntil: Date };
}

interface Row {
  id: string;
  sessionId: string;
  userId: string;
  reason: string;
  version: number;
  denyUntil: Date;
  createdAt: Date;
}

// `ORDER BY session_events.id`, not `id`: that name is this text column, whose order is not the ids'.
const COLUMNS = `id::text, session_id AS "sessionId", user_id AS "userId", reason, version, deny_until AS "denyUntil", created_at AS "createdAt"`;

const AFTER = { name: 'session-events-after', text: `SELECT ${COLUMNS} FROM session_events WHERE id > $1 ORDER BY session_events.id LIMIT $2` };
const DENYING = { name: 'session-events-denying', text: `SELECT ${COLUMNS} FROM session_events WHERE id > $1 AND deny_until > now() ORDER BY session_events.id LIMIT $2` };
const BY_IDS = { name: 'session-events-by-ids', text: `SELECT ${COLUMNS} FROM session_events WHERE id = ANY($1::bigint[])` };
const LAST = { name: 'session-events-last', text: `SELECT coalesce(max(id), 0)::text AS id FROM session_events` };

const toEvent = (r: Row): SessionEndedEvent => ({
  id: r.id,
  type: 'session.ended',
  timestamp: r.createdAt,
  data: { sessionId: r.sessionId, userId: r.userId, reason: r.reason, version: r.version, denyUntil: r.denyUntil },
});

@Injectable()
export class SessionEventsRepository {
  constructor(private readonly database: Database) {}

  /** Up to `limit` events after `after` (0: from the oldest kept), in commit order. */
  async after(after: bigint, limit: number): Promise<SessionEndedEvent[]> {
    return (await this.database.query<Row>(AFTER, [after.toString(), limit])).map(toEvent);
  }

  /** The events of these ids that are kept, in no particular order. */
  async byIds(ids: string[]): Promise<SessionEndedEvent[]> {
    return (await this.database.query<Row>(BY_IDS, [ids])).map(toEvent);
  }

  /** Of the events after `after`, those whose sessions' tokens may still be alive, in commit order: a new reader's deny list. */
  async denying(after: bigint, limit: number): Promise<SessionEndedEvent[]> {
    return (await this.database.query<Row>(DENYING, [after.toString(), limit])).map(toEvent);
  }

  /** The newest event's id (0 when there is none). */
  async lastId(): Promise<bigint> {
    const [row] = await this.database.query<{ id: string }>(LAST);
    return BigInt(row!.id);
  }

  /** Events older than `before` whose tokens are all expired, `limit` at a time: how many went. */
  async purge(before: Date, limit: number): Promise<number> {
    const rows = await this.database.query(
      `DELETE FROM session_events WHERE id IN (SELECT id FROM session_events WHERE created_at < $1 AND deny_until < now() ORDER BY id LIMIT $2) RETURNING 1`,
      [before, limit],
    );
    return rows.length;
  }
}

import { Injectable } from '@nestjs/common';
import { Database } from '../database/database.js';

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

  async after(after: bigint, limit: number): Promise<SessionEndedEvent[]> {
    return (await this.database.query<Row>(AFTER, [after.toString(), limit])).map(toEvent);
  }

  async byIds(ids: string[]): Promise<SessionEndedEvent[]> {
    return (await this.database.query<Row>(BY_IDS, [ids])).map(toEvent);
  }

  async denying(after: bigint, limit: number): Promise<SessionEndedEvent[]> {
    return (await this.database.query<Row>(DENYING, [after.toString(), limit])).map(toEvent);
  }

  async lastId(): Promise<bigint> {
    const [row] = await this.database.query<{ id: string }>(LAST);
    return BigInt(row!.id);
  }

  async purge(before: Date, limit: number): Promise<number> {
    const rows = await this.database.query(
      `DELETE FROM session_events WHERE id IN (SELECT id FROM session_events WHERE created_at < $1 AND deny_until < now() ORDER BY id LIMIT $2) RETURNING 1`,
      [before, limit],
    );
    return rows.length;
  }
}

/** What the auth server sends, as this package reads it. */

/** A session that ended: its tokens must be refused until `denyUntil`. */
export interface SessionEndedEvent {
  /** The event's cursor in the feed and its SSE id: a decimal string, growing in commit order. */
  id: string;
  type: 'session.ended';
  /** When the session ended (ISO 8601). */
  timestamp: string;
  data: {
    sessionId: string;
    userId: string;
    reason: string;
    /** Grows with every change of the session: a late event never undoes a newer one. */
    version: number;
    /** The latest expiry of any access token issued for the session (ISO 8601): forget it after. */
    denyUntil: string;
  };
}

/** `GET /api/v1/events?after=&limit=`: a page of the feed, in commit order. */
export interface FeedPage {
  success: true;
  message: string;
  data: {
    events: SessionEndedEvent[];
    /** Where the next page starts (`after=`): the last event's id, or the one asked for when none came. */
    cursor: string | null;
  };
}

/** The stream's heartbeat: every event committed before the server read the feed `lagMs` ago was sent before it. */
export interface Heartbeat {
  time: string;
  lagMs: number;
}

/** RFC 7662's answer of `POST /api/v1/auth/introspect`. */
export type Introspection =
  | { active: false }
  | { active: true; sub: string; sid: string; exp: number; iat: number; iss: string; aud: string | string[]; token_type: 'access_token' };

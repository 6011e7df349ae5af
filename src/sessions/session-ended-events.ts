// Notified on the commit of an event, so that listeners read the feed at once.
export const SESSION_EVENTS_CHANNEL = 'session_events';

// Held until commit, so ids are taken in commit order: a reader that saw id n never sees a smaller one appear.
const ORDER_LOCK = 7_365_121_001;

// Embedded in every statement that ends sessions, so none ends without its event; order lock only once `targets` are locked.
export const RECORD_SESSION_ENDS = (ended: string, targets: string) => `
  ordered AS (
    SELECT pg_advisory_xact_lock(${ORDER_LOCK}) AS locked, pg_notify('${SESSION_EVENTS_CHANNEL}', '') AS notified
      FROM (SELECT count(*) AS n FROM ${targets}) t WHERE t.n > 0
  ),
  recorded AS (
    INSERT INTO session_events (session_id, user_id, reason, version, deny_until)
    SELECT e.id, e.user_id, e.reason, e.version, e.deny_until FROM ${ended} e, ordered
  )`;

import type { Db } from './rows.js';

// Second-factor rows read straight from the database, and the clocks a case moves back.

/** The user's mfa_factors rows, all columns, oldest first. */
export const factorRows = (t: Db, userId: string): Promise<any[]> =>
  t.dataSource.query('SELECT * FROM mfa_factors WHERE user_id = $1 ORDER BY created_at, id', [userId]);

export async function factorRow(t: Db, id: string) {
  return (await t.dataSource.query('SELECT * FROM mfa_factors WHERE id = $1', [id]))[0];
}

/** The hashes of the user's recovery codes, hex, sorted; `unused` only the ones still spendable. */
export async function recoveryCodeHashes(t: Db, userId: string, unused = false): Promise<string[]> {
  const rows = await t.dataSource.query(
    `SELECT encode(code_hash, 'hex') AS hash FROM mfa_recovery_codes WHERE user_id = $1 ${unused ? 'AND used_at IS NULL' : ''} ORDER BY 1`,
    [userId],
  );
  return rows.map((r: { hash: string }) => r.hash);
}

/** Moves the last proof of a factor on session `id` back `seconds`: step-up then needs a new one. */
export async function ageAuthentication(t: Db, sessionId: string, seconds: number): Promise<void> {
  await t.dataSource.query(`UPDATE sessions SET authenticated_at = now() - make_interval(secs => $2) WHERE id = $1`, [sessionId, seconds]);
}

/** A confirmed passkey factor inserted as registration would leave it (no ceremony): its id. */
export async function insertPasskeyFactor(t: Db, userId: string, name = 'Llave'): Promise<string> {
  const [row] = await t.dataSource.query(
    `INSERT INTO mfa_factors (user_id, type, name, confirmed_at, credential_id, public_key, sign_count, backup_eligible, backed_up)
     VALUES ($1, 'webauthn', $2, now(), gen_random_uuid()::text, decode('00', 'hex'), 0, false, false) RETURNING id`,
    [userId, name],
  );
  return row.id;
}

/** The session.ended events of these sessions: `session_id` and `reason`, in commit order. */
export const endedEvents = (t: Db, sessionIds: string[]): Promise<Array<{ session_id: string; reason: string }>> =>
  t.dataSource.query(`SELECT session_id, reason FROM session_events WHERE session_id = ANY($1::uuid[]) ORDER BY session_events.id`, [sessionIds]);

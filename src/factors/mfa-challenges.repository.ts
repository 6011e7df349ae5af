import { Injectable } from '@nestjs/common';
import { Database } from '../database/database.js';

/** `login`: a sign-in's second step (the mfaToken). `passkey_*`: a WebAuthn challenge. */
export type ChallengeKind = 'login' | 'passkey_login' | 'passkey_register' | 'passkey_verify';

export interface OpeningChallenge {
  kind: ChallengeKind;
  ttlSeconds: number;
  userId?: string;
  sessionId?: string;
  /** The hash of a secret handed to the client (the mfaToken). */
  secretHash?: Buffer;
  /** A WebAuthn challenge, base64url. */
  challenge?: string;
  /** Login: the user's session epoch read with the password, so an end of all in between still wins. */
  sessionEpoch?: number;
}

export interface Challenge {
  id: string;
  userId: string | null;
  sessionId: string | null;
  sessionEpoch: number | null;
  attempts: number;
}

const COLUMNS = `id, user_id AS "userId", session_id AS "sessionId", session_epoch AS "sessionEpoch", attempts`;

/** The one writer of `mfa_challenges`; no app logic. Every challenge is single use: taking it deletes it. */
@Injectable()
export class MfaChallengesRepository {
  constructor(private readonly database: Database) {}

  async open(c: OpeningChallenge): Promise<string> {
    const [row] = await this.database.query<{ id: string }>(
      `INSERT INTO mfa_challenges (kind, user_id, session_id, secret_hash, challenge, session_epoch, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7)) RETURNING id`,
      [c.kind, c.userId ?? null, c.sessionId ?? null, c.secretHash ?? null, c.challenge ?? null, c.sessionEpoch ?? null, c.ttlSeconds],
    );
    return row!.id;
  }

  /** A live challenge found by its secret's hash, not taken. */
  async findBySecret(kind: ChallengeKind, secretHash: Buffer): Promise<Challenge | null> {
    const [row] = await this.database.query<Challenge>(
      `SELECT ${COLUMNS} FROM mfa_challenges WHERE kind = $1 AND secret_hash = $2 AND expires_at > now()`,
      [kind, secretHash],
    );
    return row ?? null;
  }

  /** A live challenge, its row locked until the transaction ends: attempts at one challenge go one at a time. */
  async lock(id: string): Promise<Challenge | null> {
    const [row] = await this.database.query<Challenge>(`SELECT ${COLUMNS} FROM mfa_challenges WHERE id = $1 AND expires_at > now() FOR UPDATE`, [id]);
    return row ?? null;
  }

  /** Taken (deleted) by exactly one of any number of simultaneous callers; null when gone or expired. */
  async take(id: string): Promise<Challenge | null> {
    const [row] = await this.database.query<Challenge>(`DELETE FROM mfa_challenges WHERE id = $1 AND expires_at > now() RETURNING ${COLUMNS}`, [id]);
    return row ?? null;
  }

  /** The WebAuthn challenge `challenge` of this kind (and user, when given), taken. */
  async takeChallenge(kind: ChallengeKind, challenge: string, userId?: string): Promise<Challenge | null> {
    const [row] = await this.database.query<Challenge>(
      `DELETE FROM mfa_challenges WHERE kind = $1 AND challenge = $2 AND ($3::uuid IS NULL OR user_id = $3) AND expires_at > now() RETURNING ${COLUMNS}`,
      [kind, challenge, userId ?? null],
    );
    return row ?? null;
  }

  /** One more wrong attempt; at `max` the challenge dies. The attempts now counted, 0 when it is gone. */
  async countFailure(id: string, max: number): Promise<number> {
    const [row] = await this.database.query<{ attempts: number }>(
      // One statement cannot both update and delete a row (the delete would see the old version and do nothing): one or the other.
      `WITH counted AS (SELECT id, attempts + 1 AS attempts FROM mfa_challenges WHERE id = $1),
            dead AS (DELETE FROM mfa_challenges WHERE id IN (SELECT id FROM counted WHERE attempts >= $2)),
            kept AS (UPDATE mfa_challenges SET attempts = attempts + 1 WHERE id IN (SELECT id FROM counted WHERE attempts < $2))
       SELECT attempts FROM counted`,
      [id, max],
    );
    return row?.attempts ?? 0;
  }

  async purgeExpired(limit: number): Promise<number> {
    const rows = await this.database.query(
      `DELETE FROM mfa_challenges WHERE id IN (SELECT id FROM mfa_challenges WHERE expires_at < now() LIMIT $1) RETURNING 1`,
      [limit],
    );
    return rows.length;
  }
}

import { setTimeout as sleep } from 'node:timers/promises';
import { generateSync } from 'otplib';
import type { HttpClient } from './app.js';
import { API } from './requests.js';

// TOTP codes computed from a factor's secret, as an authenticator app would, and a factor set up through the API.

const PERIOD_MS = 30_000;

/** The code of the step `offset` steps from now (the server accepts -1, 0 and +1). */
export const totpCode = (secret: string, offset = 0, nowMs = Date.now()): string =>
  generateSync({ strategy: 'totp', secret, epoch: Math.floor(nowMs / 1000) + offset * 30 });

/**
 * Waits until at least `marginMs` remain in the current step, so that codes computed now keep
 * their offsets when the server checks them: a case never straddles a step boundary.
 */
export async function inOneStep(marginMs = 4_000): Promise<void> {
  const left = PERIOD_MS - (Date.now() % PERIOD_MS);
  if (left < marginMs) await sleep(left + 50);
}

export interface TotpFactor {
  factorId: string;
  secret: string;
  /** Only when it was the user's first factor. */
  recoveryCodes?: string[];
}

/**
 * Enrols and confirms a TOTP factor for the bearer. Confirmed with the previous step's code, so
 * the current step (offset 0) and the next (offset +1) are still unspent for the case.
 */
export async function enrolTotp(t: HttpClient, token: string): Promise<TotpFactor> {
  await inOneStep();
  const started = await t.http().post(`${API}/mfa/totp`).set('Authorization', `Bearer ${token}`).send({}).expect(200);
  const { factorId, secret } = started.body.data as { factorId: string; secret: string };
  const confirmed = await t
    .http()
    .post(`${API}/mfa/totp/confirm`)
    .set('Authorization', `Bearer ${token}`)
    .send({ factorId, code: totpCode(secret, -1) })
    .expect(200);
  return { factorId, secret, recoveryCodes: confirmed.body.data.recoveryCodes };
}

import type { HttpClient } from './app.js';
import { API, bearer } from './requests.js';

// Requests to the second-factor routes; nothing is sent until awaited.

export const enrolTotpRequest = (t: HttpClient, token: string, body: Record<string, unknown> = {}) =>
  t.http().post(`${API}/mfa/totp`).set(bearer(token)).send(body);

export const confirmTotpRequest = (t: HttpClient, token: string, factorId: string, code: string) =>
  t.http().post(`${API}/mfa/totp/confirm`).set(bearer(token)).send({ factorId, code });

export const factorsRequest = (t: HttpClient, token: string) => t.http().get(`${API}/mfa/factors`).set(bearer(token));

/** DELETE /mfa/factors/:id, the id encoded into the path. */
export const removeFactorRequest = (t: HttpClient, token: string, id: string) =>
  t.http().delete(`${API}/mfa/factors/${encodeURIComponent(id)}`).set(bearer(token));

export const recoveryCodesRequest = (t: HttpClient, token: string) => t.http().post(`${API}/mfa/recovery-codes`).set(bearer(token)).send({});

import type { HttpClient } from './app.js';
import { API, bearer, loginRequest } from './requests.js';
import { enrolTotp, type TotpFactor } from './totp.js';
import { registerAndLogin, type LoggedIn } from './users.js';

// Users with a second factor, and the two steps of their login.


/** A user with a confirmed TOTP factor and its 10 recovery codes; `token` is the session that enrolled it. */
export type WithTotp = LoggedIn & TotpFactor & { recoveryCodes: string[] };

export async function registerWithTotp(t: HttpClient): Promise<WithTotp> {
  const user = await registerAndLogin(t);
  const factor = await enrolTotp(t, user.token);
  return { ...user, ...factor, recoveryCodes: factor.recoveryCodes! };
}

/** The password step: the mfaToken of a 200 `mfaRequired` answer. */
export async function mfaTokenOf(t: HttpClient, email: string, password: string): Promise<string> {
  const res = await loginRequest(t, email, password).expect(200);
  if (res.body.data?.mfaRequired !== true) throw new Error(`no second step asked: ${res.text}`);
  return res.body.data.mfaToken;
}

/** Both steps of a login with a TOTP code (each code opens one login: use distinct steps). */
export async function loginWithCode(t: HttpClient, user: { email: string; password: string }, code: string): Promise<{ token: string; sessionId: string }> {
  const mfaToken = await mfaTokenOf(t, user.email, user.password);
  const res = await loginMfaRequest(t, { mfaToken, code });
  if (res.status !== 200) throw new Error(`the second step answered ${res.status}: ${res.text}`);
  return { token: res.body.data.accessToken, sessionId: res.body.data.sessionId };
}

/** POST /login/mfa with this body, whatever the answer. */
export const loginMfaRequest = (t: HttpClient, body: Record<string, unknown>) => t.http().post(`${API}/login/mfa`).send(body);

/** POST /step-up with this bearer and body, whatever the answer. */
export const stepUpRequest = (t: HttpClient, token: string, body: Record<string, unknown>) =>
  t.http().post(`${API}/step-up`).set(bearer(token)).send(body);

import { randomUUID } from 'node:crypto';
import type { HttpClient } from './app.js';
import { API, loginRequest, type RequestOptions, withOptions } from './requests.js';

// Users made through the API: registered, logged in, with their tokens.

export interface LoggedIn {
  email: string;
  password: string;
  userId: string;
  token: string;
  sessionId: string;
}

export const uniqueEmail = () => `user-${randomUUID()}@example.com`;

/** Registers from `options.from` when given: registration is rate limited per client address. */
export async function register(t: HttpClient, email = uniqueEmail(), password = 'password-123', options: RequestOptions = {}) {
  const res = await withOptions(t.http().post(`${API}/register`), options).send({ email, password }).expect(201);
  return { email, password, userId: res.body.data.id as string };
}

export async function login(t: HttpClient, email: string, password: string): Promise<{ token: string; sessionId: string }> {
  const res = await loginRequest(t, email, password).expect(200);
  return { token: res.body.data.accessToken, sessionId: res.body.data.sessionId };
}

export async function registerAndLogin(t: HttpClient): Promise<LoggedIn> {
  const user = await register(t);
  return { ...user, ...(await login(t, user.email, user.password)) };
}

/** A logged-in user with the refresh token login gave (bearer mode). */
export interface WithRefresh extends LoggedIn {
  refreshToken: string;
}

/** Logs in and keeps the refresh token too. */
export async function loginWithRefresh(t: HttpClient, email: string, password: string) {
  const res = await loginRequest(t, email, password).expect(200);
  const { accessToken: token, sessionId, refreshToken } = res.body.data;
  return { token: token as string, sessionId: sessionId as string, refreshToken: refreshToken as string };
}

export async function registerAndLoginWithRefresh(t: HttpClient): Promise<WithRefresh> {
  const user = await register(t);
  return { ...user, ...(await loginWithRefresh(t, user.email, user.password)) };
}

import { createHash } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminServer } from '../../src/admin/admin.server.js';
import { startApp, type TestApp } from '../support/app.js';
import { loginRequest, meRequest, refreshRequest } from '../support/requests.js';
import { login, loginWithRefresh, register } from '../support/users.js';

// The operator API on ADMIN_PORT: its own port, its own tokens, every action audited with the
// admin token's fingerprint, and whatever ends access ends every session at once.

const TOKEN = 'operator-token-0123456789-abcdefghijkl';
const OTHER_TOKEN = 'second-operator-token-9876543210-zyxw';
const fingerprint = (token: string) => createHash('sha256').update(token).digest('hex').slice(0, 16);
const INVALID_TOKEN = { success: false, message: 'Token no proporcionado o inválido' };

describe('the operator API', () => {
  let t: TestApp;
  let base: string;
  const admin = () => request(base);
  const as = (token = TOKEN) => ({ Authorization: `Bearer ${token}` });
  const adminActions = (userId: string) =>
    t.dataSource.query(`SELECT details FROM audit_events WHERE user_id = $1 AND event = 'admin_action' ORDER BY created_at`, [userId]);

  beforeAll(async () => {
    t = await startApp({ ADMIN_PORT: '0', ADMIN_TOKENS: `${TOKEN}, ${OTHER_TOKEN}` });
    base = `http://127.0.0.1:${t.app.get(AdminServer).port}`;
  });
  afterAll(() => t.close());

  it('answers only a token of ADMIN_TOKENS, with the token envelope otherwise', async () => {
    for (const headers of [{}, as('not-an-admin-token-0123456789-abcdefgh'), { Authorization: TOKEN }]) {
      const res = await admin().get('/admin/v1/users').set(headers);
      expect(res.status).toBe(401);
      expect(res.body).toStrictEqual(INVALID_TOKEN);
    }
    await admin().get('/admin/v1/users').set(as(OTHER_TOKEN)).expect(200);
  });

  it('is not on the public port, and has its own Swagger UI at /docs', async () => {
    const res = await t.http().get('/admin/v1/users').set(as());
    expect(res.status).toBe(404);
    expect((await t.http().get('/api/v1/admin/v1/users').set(as())).status).toBe(404);
    const docs = await admin().get('/docs-json').expect(200);
    expect(Object.keys(docs.body.paths)).toEqual(expect.arrayContaining(['/admin/v1/users', '/admin/v1/users/{id}/lock', '/admin/v1/audit']));
  });

  it('finds users by the start of their email', async () => {
    const user = await register(t);
    const res = await admin().get('/admin/v1/users').query({ email: user.email.slice(0, 20).toUpperCase() }).set(as()).expect(200);
    expect(res.body.data.users).toStrictEqual([
      { id: user.userId, email: user.email, createdAt: expect.any(String), emailVerified: false, lockedAt: null, roles: [] },
    ]);
  });

  it("lists a user's sessions and ends them all (admin_revoked), audited with the token's fingerprint", async () => {
    const user = await register(t);
    const sessions = [await login(t, user.email, user.password), await login(t, user.email, user.password)];
    const listed = await admin().get(`/admin/v1/users/${user.userId}/sessions`).set(as()).expect(200);
    expect(listed.body.data.sessions.map((s: { id: string }) => s.id).sort()).toStrictEqual(sessions.map((s) => s.sessionId).sort());
    const res = await admin().delete(`/admin/v1/users/${user.userId}/sessions`).set(as()).expect(200);
    expect(res.body.data).toStrictEqual({ revokedSessions: 2 });
    for (const { token } of sessions) expect((await meRequest(t, token)).status).toBe(401);
    const ended = await admin().get(`/admin/v1/users/${user.userId}/sessions?state=ended`).set(as()).expect(200);
    expect(ended.body.data.sessions.map((s: { endReason: string }) => s.endReason)).toStrictEqual(['admin_revoked', 'admin_revoked']);
    const actions = await adminActions(user.userId);
    expect(actions).toStrictEqual([{ details: { action: 'end_sessions', admin: fingerprint(TOKEN), revokedSessions: 2 } }]);
    const everything = JSON.stringify(await t.dataSource.query('SELECT * FROM audit_events WHERE user_id = $1', [user.userId]));
    expect(everything).not.toContain(TOKEN);
  });

  it('ends one session by id; an unknown, ended or malformed id is the same 404', async () => {
    const user = await register(t);
    const [a, b] = [await login(t, user.email, user.password), await login(t, user.email, user.password)];
    await admin().delete(`/admin/v1/sessions/${a.sessionId}`).set(as()).expect(200);
    expect((await meRequest(t, a.token)).status).toBe(401);
    expect((await meRequest(t, b.token)).status).toBe(200);
    for (const id of [a.sessionId, '3f0c9a52-6a51-4a3e-9f7c-2f1f5b8f9a10', 'nope']) {
      const res = await admin().delete(`/admin/v1/sessions/${id}`).set(as());
      expect(res.status).toBe(404);
      expect(res.body).toStrictEqual({ success: false, message: 'Recurso no encontrado' });
    }
    for (const path of ['/admin/v1/users/3f0c9a52-6a51-4a3e-9f7c-2f1f5b8f9a10/sessions', '/admin/v1/users/nope/sessions']) {
      expect((await admin().get(path).set(as())).status).toBe(404);
    }
  });

  it('lock: every session ends, login 403, refresh 401; unlock: login again', async () => {
    const user = await register(t);
    const session = await loginWithRefresh(t, user.email, user.password);
    const locked = await admin().post(`/admin/v1/users/${user.userId}/lock`).set(as()).expect(200);
    expect(locked.body.data).toStrictEqual({ revokedSessions: 1 });
    expect((await meRequest(t, session.token)).status).toBe(401);
    expect((await refreshRequest(t, session.refreshToken)).status).toBe(401);
    const refused = await loginRequest(t, user.email, user.password);
    expect(refused.status).toBe(403);
    expect(refused.body).toStrictEqual({ success: false, message: 'La cuenta está bloqueada' });
    expect((await loginRequest(t, user.email, 'wrong-password')).status).toBe(401);
    await admin().post(`/admin/v1/users/${user.userId}/unlock`).set(as()).expect(200);
    expect((await loginRequest(t, user.email, user.password)).status).toBe(200);
    expect((await adminActions(user.userId)).map((row: { details: { action: string } }) => row.details.action)).toStrictEqual(['lock', 'unlock']);
    expect((await admin().post('/admin/v1/users/3f0c9a52-6a51-4a3e-9f7c-2f1f5b8f9a10/lock').set(as())).status).toBe(404);
  });

  it('sets roles, read by the next request; refuses what is not a list of names', async () => {
    const user = await register(t);
    await admin().put(`/admin/v1/users/${user.userId}/roles`).set(as()).send({ roles: ['editor', 'billing'] }).expect(200);
    const [row] = await t.dataSource.query('SELECT roles FROM users WHERE id = $1', [user.userId]);
    expect(row.roles).toStrictEqual(['editor', 'billing']);
    for (const body of [{}, { roles: 'editor' }, { roles: [1] }, { roles: [''] }, { roles: ['a b'] }]) {
      expect((await admin().put(`/admin/v1/users/${user.userId}/roles`).set(as()).send(body)).status, JSON.stringify(body)).toBe(400);
    }
  });

  it('reads the audit log newest first, filtered and paged', async () => {
    const user = await register(t);
    for (let i = 0; i < 3; i++) await login(t, user.email, user.password);
    const seen: string[] = [];
    let after: string | undefined;
    do {
      const res = await admin().get('/admin/v1/audit').query({ userId: user.userId, limit: 2, ...(after && { after }) }).set(as()).expect(200);
      seen.push(...res.body.data.events.map((e: { event: string }) => e.event));
      after = res.body.data.nextCursor;
    } while (after);
    expect(seen).toStrictEqual(['login', 'login', 'login', 'register']);
    const logins = await admin().get('/admin/v1/audit').query({ userId: user.userId, event: 'login' }).set(as()).expect(200);
    expect(logins.body.data.events).toHaveLength(3);
    expect((await admin().get('/admin/v1/audit').query({ after: 'nope' }).set(as())).status).toBe(400);
  });
});

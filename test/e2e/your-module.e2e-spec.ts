import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../support/app.js';
import { bearer, logoutRequest } from '../support/requests.js';
import { registerAndLogin } from '../support/users.js';
import { NotesModule } from './your-module/notes.module.js';

// An application's own module served beside auth (docs/extending.md): under the same guard,
// filter and validation, with the principal and its roles from the one session lookup.

const FORBIDDEN = { success: false, message: 'No tiene permiso para esta acción' };

describe('your own module beside auth', () => {
  let t: TestApp;
  const grant = (userId: string, roles: string[]) =>
    t.dataSource.query('UPDATE users SET roles = $2 WHERE id = $1', [userId, roles]);
  const create = (token: string, title: unknown) => t.http().post('/api/v1/notes').set(bearer(token)).send({ title });

  beforeAll(async () => {
    t = await startApp({}, { modules: [NotesModule] });
  });
  afterAll(() => t.close());

  it('serves a @Public() route to anyone', async () => {
    const res = await t.http().get('/api/v1/notes/about').expect(200);
    expect(res.body).toStrictEqual({ success: true, message: 'Notas de ejemplo' });
  });

  it('needs a live session anywhere else, and refuses it once logged out', async () => {
    const user = await registerAndLogin(t);
    const res = await t.http().get('/api/v1/notes/mine').set(bearer(user.token)).expect(200);
    expect(res.body.data).toStrictEqual({ userId: user.userId, sessionId: user.sessionId, roles: [] });
    await t.http().get('/api/v1/notes/mine').expect(401);
    await logoutRequest(t, user.token).expect(200);
    const after = await t.http().get('/api/v1/notes/mine').set(bearer(user.token));
    expect(after.status).toBe(401);
    expect(after.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
  });

  it('@Roles(): 403 without the role, without WWW-Authenticate; a role granted or removed applies from the next request', async () => {
    const user = await registerAndLogin(t);
    const refused = await create(user.token, 'primera');
    expect(refused.status).toBe(403);
    expect(refused.body).toStrictEqual(FORBIDDEN);
    expect(refused.headers['www-authenticate']).toBeUndefined();

    await grant(user.userId, ['editor']);
    const created = await create(user.token, 'primera').expect(201);
    expect(created.body).toStrictEqual({ success: true, message: 'Nota creada', data: { title: 'primera' } });
    expect((await t.http().get('/api/v1/notes/mine').set(bearer(user.token))).body.data.roles).toStrictEqual(['editor']);

    await grant(user.userId, []);
    expect((await create(user.token, 'segunda')).status).toBe(403);
  });

  it("keeps the status of the module's own HttpExceptions, with their message or the status's Spanish one", async () => {
    const user = await registerAndLogin(t);
    await grant(user.userId, ['editor']);
    await create(user.token, 'única').expect(201);
    const taken = await create(user.token, 'única');
    expect(taken.status).toBe(409);
    expect(taken.body).toStrictEqual({ success: false, message: 'Ya existe una nota con ese título' });
    const blank = await create(user.token, '   ');
    expect(blank.status).toBe(422);
    expect(blank.body).toStrictEqual({ success: false, message: 'No se puede procesar la solicitud' });
  });

  it('validates its bodies like the auth routes do: 400 with errors, unknown properties refused', async () => {
    const user = await registerAndLogin(t);
    await grant(user.userId, ['editor']);
    for (const body of [{ title: '' }, { title: 5 }, { title: 'x', extra: true }]) {
      const res = await t.http().post('/api/v1/notes').set(bearer(user.token)).send(body);
      expect(res.status).toBe(400);
      expect(res.body.message).toBe('Solicitud inválida');
      expect(res.body.errors.length).toBeGreaterThan(0);
    }
  });

  it('appears in the OpenAPI document beside auth', async () => {
    const doc = (await t.http().get('/api/docs-json').expect(200)).body;
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/notes/about', '/api/v1/notes/mine', '/api/v1/notes']));
  });
});

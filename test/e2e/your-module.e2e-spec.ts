import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../support/app.js';
import { bearer, logoutRequest } from '../support/requests.js';
import { registerAndLogin } from '../support/users.js';
import { stepUpChallenge } from '../support/mfa-messages.js';
import { inOneStep, totpCode, enrolTotp } from '../support/totp.js';
import { asInClone, placeInClone, ROOT, yourModuleFiles } from '../support/your-module.js';
import { APP_PARTS } from './your-module/app.parts.js';

// The module docs/extending.md builds, served beside auth through its app.parts.ts: under the same
// guard, filter and validation, with the principal and its roles from the one session lookup, and
// a table of its own from its own migration. test/process/app-parts.e2e-spec.ts runs it as a clone.

const FORBIDDEN = { success: false, message: 'No tiene permiso para esta acción' };

describe('your own module beside auth', () => {
  let t: TestApp;
  const grant = (userId: string, roles: string[]) =>
    t.dataSource.query('UPDATE users SET roles = $2 WHERE id = $1', [userId, roles]);
  const create = (token: string, title: unknown) => t.http().post('/api/v1/notes').set(bearer(token)).send({ title });

  beforeAll(async () => {
    t = await startApp({}, APP_PARTS);
  });
  afterAll(() => t.close());

  it('serves a @Public() route to anyone', async () => {
    const res = await t.http().get('/api/v1/notes/about').expect(200);
    expect(res.body).toStrictEqual({ success: true, message: 'Notas de ejemplo' });
  });

  it('needs a live session anywhere else, and refuses it once logged out', async () => {
    const user = await registerAndLogin(t);
    const res = await t.http().get('/api/v1/notes/me').set(bearer(user.token)).expect(200);
    expect(res.body.data).toStrictEqual({ userId: user.userId, sessionId: user.sessionId, roles: [] });
    await t.http().get('/api/v1/notes/me').expect(401);
    await logoutRequest(t, user.token).expect(200);
    const after = await t.http().get('/api/v1/notes/me').set(bearer(user.token));
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
    expect(created.body).toStrictEqual({ success: true, message: 'Nota creada', data: { id: expect.any(String), title: 'primera' } });
    expect((await t.http().get('/api/v1/notes/me').set(bearer(user.token))).body.data.roles).toStrictEqual(['editor']);

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

  it('keeps a 400 or 404 of its own with its message', async () => {
    const user = await registerAndLogin(t);
    const badId = await t.http().get('/api/v1/notes/not-a-uuid').set(bearer(user.token));
    expect(badId.status).toBe(400);
    expect(badId.body).toStrictEqual({ success: false, message: 'El id de la nota no es válido' });
    const missing = await t.http().get(`/api/v1/notes/${randomUUID()}`).set(bearer(user.token));
    expect(missing.status).toBe(404);
    expect(missing.body).toStrictEqual({ success: false, message: 'La nota no existe' });
    // A route that does not exist still answers the API's own 404.
    const unrouted = await t.http().get('/api/v1/notes/a/b/c').set(bearer(user.token));
    expect(unrouted.status).toBe(404);
    expect(unrouted.body).toStrictEqual({ success: false, message: 'Recurso no encontrado' });
  });

  it('keeps its rows in its own table, created by its own migration, one user apart from another', async () => {
    const [ana, ben] = [await registerAndLogin(t), await registerAndLogin(t)];
    await grant(ana.userId, ['editor']);
    const note = (await create(ana.token, 'de Ana').expect(201)).body.data;
    const rows = await t.dataSource.query('SELECT user_id, title FROM notes WHERE id = $1', [note.id]);
    expect(rows).toStrictEqual([{ user_id: ana.userId, title: 'de Ana' }]);
    expect((await t.http().get('/api/v1/notes').set(bearer(ana.token)).expect(200)).body.data).toStrictEqual({ notes: [note] });
    expect((await t.http().get(`/api/v1/notes/${note.id}`).set(bearer(ana.token)).expect(200)).body.data).toStrictEqual(note);
    expect((await t.http().get(`/api/v1/notes/${note.id}`).set(bearer(ben.token))).status).toBe(404);
    expect((await t.http().get('/api/v1/notes').set(bearer(ben.token)).expect(200)).body.data).toStrictEqual({ notes: [] });
  });

  it('@StepUp(): a stale session gets 401 with the RFC 9470 challenge; after POST /auth/step-up, 200 for this session', async () => {
    const user = await registerAndLogin(t);
    const { secret } = await enrolTotp(t, user.token);
    await grant(user.userId, ['editor']);
    await create(user.token, 'exportable').expect(201);
    await t.dataSource.query(`UPDATE sessions SET authenticated_at = now() - interval '301 seconds' WHERE id = $1`, [user.sessionId]);
    const stale = await t.http().get('/api/v1/notes/export').set(bearer(user.token));
    expect(stale.status).toBe(401);
    expect(stale.body).toStrictEqual({ success: false, message: 'Se requiere autenticación reciente' });
    // Node reads header bytes as Latin-1; the description is sent as UTF-8.
    expect(stale.headers['www-authenticate']).toBe(stepUpChallenge(300));

    await inOneStep();
    await t.http().post('/api/v1/auth/step-up').set(bearer(user.token)).send({ code: totpCode(secret) }).expect(200);
    const res = await t.http().get('/api/v1/notes/export').set(bearer(user.token)).expect(200);
    expect(res.body).toStrictEqual({ success: true, message: 'Exportación de tus notas', data: { notes: [{ id: expect.any(String), title: 'exportable' }] } });
  });

  it('its entity and its migration agree: the migration generator finds nothing to do', async () => {
    const sql = await t.dataSource.driver.createSchemaBuilder().log();
    expect(sql.upQueries.map((q) => q.query)).toStrictEqual([]);
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

  it('appears in the OpenAPI document beside auth, its data typed, its handlers its operation ids', async () => {
    const doc = (await t.http().get('/api/docs-json').expect(200)).body;
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/notes/about', '/api/v1/notes/me', '/api/v1/notes', '/api/v1/notes/{id}', '/api/v1/notes/export']));
    const created = doc.paths['/api/v1/notes'].post;
    expect(created.operationId).toBe('createNote');
    expect(created.tags).toStrictEqual(['notes']);
    expect(created.responses[201].content['application/json'].schema).toStrictEqual({ $ref: '#/components/schemas/CreateNoteResponse' });
    expect(doc.components.schemas.CreateNoteResponse.properties.data).toStrictEqual({ $ref: '#/components/schemas/NoteDto' });
    expect(Object.keys(doc.components.schemas.NoteDto.properties)).toStrictEqual(['id', 'title']);
    expect(created.responses[403].content['application/json'].examples.FORBIDDEN.value.message).toBe('No tiene permiso para esta acción');
    expect(created.responses[409].description).toBe('Ya existe una nota con ese título');
  });
});

describe('docs/extending.md', () => {
  it('shows this very module: each snippet is in the file it names, in order, and each file is shown whole', async () => {
    const doc = await readFile(join(ROOT, 'docs', 'extending.md'), 'utf8');
    const files = new Map<string, string>();
    for (const file of await yourModuleFiles()) files.set(placeInClone(file), asInClone(file, await readFile(file, 'utf8')));
    const snippets = [...doc.matchAll(/^```ts\n\/\/ (\S+)\n([\s\S]*?)^```$/gm)].map(([, path, body]) => ({ path, body }));
    expect(snippets.length, 'every ts snippet starts with a comment naming its file').toBe(doc.split('```ts').length - 1);

    for (const { path, body } of snippets) {
      expect([...files.keys()], 'a file of the example module').toContain(path);
      const file = files.get(path)!;
      let from = 0;
      // A line `// …` stands for lines of the file the snippet leaves out.
      for (const piece of body.split(/^\/\/ …\n/m)) {
        expect(file, `in ${path}`).toContain(piece);
        const at = file.indexOf(piece, from);
        expect(at, `${path}: the pieces of a snippet in the file's order`).toBeGreaterThanOrEqual(0);
        from = at + piece.length;
      }
    }
    for (const [path, file] of files) expect(snippets.map(({ body }) => body), `${path} shown whole`).toContain(file);
  });
});

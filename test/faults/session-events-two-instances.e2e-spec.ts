import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realPostgresUrl } from '../support/app.js';
import { basic, openEventStream, type EventStreamReader } from '../support/event-stream-reader.js';
import { logoutRequest } from '../support/requests.js';
import { lacks } from '../support/requirements.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { registerAndLogin, type LoggedIn } from '../support/users.js';

// Two server processes on one PostgreSQL: a session ended at A reaches a stream open at B, woken
// by LISTEN/NOTIFY, once, in commit order, within a second; a stream cut off (by the client, or
// by its instance dying) resumes with Last-Event-ID without losing or repeating an event.

const run = describe.skipIf(lacks('postgres', 'two server processes streaming session events from one database'));
const CLIENT = { id: 'events-reader', secret: 'events-secret-0123456789-abcdefghij' };
const AUTH = basic(CLIENT.id, CLIENT.secret);

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;

run('session events across two instances on one database', () => {
  let a: ServerProcess;
  let b: ServerProcess;
  // The instance killed mid-run: its own, so A and B serve the other cases in any order.
  let doomed: ServerProcess | undefined;
  let db: pg.Client;

  const idsAfter = async (after: string): Promise<string[]> =>
    (await db.query(`SELECT id::text AS id FROM session_events WHERE id > $1 ORDER BY session_events.id`, [after])).rows.map((r) => r.id);
  const lastId = async (): Promise<string> => (await db.query(`SELECT coalesce(max(id), 0)::text AS id FROM session_events`)).rows[0].id;
  /** `count` users logged in at A, a few at a time (each login hashes a password). */
  const loggedInAtA = async (count: number): Promise<LoggedIn[]> => {
    const users: LoggedIn[] = [];
    while (users.length < count) users.push(...(await Promise.all(Array.from({ length: Math.min(10, count - users.length) }, () => registerAndLogin(a)))));
    return users;
  };
  const streamAt = (server: ServerProcess, lastEventId?: string) => openEventStream(server.url, { authorization: AUTH, lastEventId });
  const idsOf = (reader: EventStreamReader) => reader.events().map((e) => e.id);

  const env = { DATABASE_URL: realPostgresUrl!, INTROSPECTION_CLIENTS: `${CLIENT.id}:${CLIENT.secret}` };

  beforeAll(async () => {
    [a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
    db = new pg.Client({ connectionString: realPostgresUrl });
    await db.connect();
  }, 120_000);
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop(), doomed?.stop()]);
    await db?.end();
  });

  it("each logout at A reaches B's stream once, in commit order, well within a second of A's 200", async () => {
    const users = await loggedInAtA(100);
    const from = await lastId();
    const reader = await streamAt(b, from);
    expect(reader.status).toBe(200);
    await reader.waitFor(() => reader.heartbeats()[0]);

    const delays: number[] = [];
    let early = 0;
    for (const user of users) {
      await logoutRequest(a, user.token).expect(200);
      const answered = performance.now();
      const event = await reader.waitFor(() => reader.events().find((e) => e.data.sessionId === user.sessionId), 3000);
      // It may come before A's answer is read (NOTIFY goes at the commit): a delay of 0.
      if (event.at < answered) early++;
      delays.push(Math.max(0, event.at - answered));
    }
    await sleep(500); // time for a repeat to show
    reader.close();

    const sorted = [...delays].sort((x, y) => x - y);
    console.log(`A's 200 → B's event over ${delays.length} logouts: p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms (${early} before A's 200 was read)`);
    expect(sorted.at(-1)!).toBeLessThan(1000);
    expect(idsOf(reader)).toStrictEqual(await idsAfter(from));
    expect(reader.events().map((e) => e.data.sessionId)).toStrictEqual(users.map((u) => u.sessionId));
    expect(reader.events().every((e) => e.sseId === e.id && e.data.reason === 'logout')).toBe(true);
  }, 240_000);

  it("a stream to B cut off mid-run by its client resumes at B with Last-Event-ID: no event lost, none repeated", async () => {
    const users = await loggedInAtA(40);
    const from = await lastId();
    const first = await streamAt(b, from);
    await first.waitFor(() => first.heartbeats()[0]);

    const logouts = (async () => {
      for (const user of users) {
        await logoutRequest(a, user.token).expect(200);
        await sleep(10);
      }
    })();
    await first.waitFor(() => first.events().length >= 15, 10_000);
    first.close();
    const cut = first.events().at(-1)!.id;
    const second = await streamAt(b, cut);
    await logouts;
    const expected = await idsAfter(from);
    expect(expected).toHaveLength(40);
    await second.waitFor(() => second.events().some((e) => e.id === expected.at(-1)), 3000);
    await sleep(500);
    second.close();

    expect([...idsOf(first), ...idsOf(second)]).toStrictEqual(expected);
    expect(idsOf(second)[0]).toBe(expected[expected.indexOf(cut) + 1]);
  }, 120_000);

  it('B killed mid-run: the stream ends, and resumed at A with Last-Event-ID loses and repeats nothing', async () => {
    doomed = await startServerProcess(env);
    const users = await loggedInAtA(30);
    const from = await lastId();
    const first = await streamAt(doomed, from);
    await first.waitFor(() => first.heartbeats()[0]);

    const logouts = (async () => {
      for (const user of users) {
        await logoutRequest(a, user.token).expect(200);
        await sleep(10);
      }
    })();
    await first.waitFor(() => first.events().length >= 10, 10_000);
    await doomed.kill('SIGKILL');
    await first.ended;
    const cut = first.events().at(-1)!.id;
    const second = await streamAt(a, cut);
    await logouts;
    const expected = await idsAfter(from);
    expect(expected).toHaveLength(30);
    await second.waitFor(() => second.events().some((e) => e.id === expected.at(-1)), 3000);
    await sleep(500);
    second.close();

    expect([...idsOf(first), ...idsOf(second)]).toStrictEqual(expected);
  }, 120_000);
});

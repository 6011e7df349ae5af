import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventStreamService } from '../../src/events/event-stream.service.js';
import { SessionEventsRepository } from '../../src/events/session-events.repository.js';
import { startApp, type TestApp } from '../support/app.js';
import { logoutRequest } from '../support/requests.js';
import { registerAndLogin } from '../support/users.js';

// Two listeners attaching at once to an instance that has none (every receiver reconnecting after
// a restart). At 3765b94, EventStreamService.attach() reset `newest` (what the shared read continues
// after) to the newest event id for each of them, after an await: when the second one's lastId()
// saw an event that had committed after the first one's catch-up and before the shared read ran,
// `newest` jumped over it, and the first listener never got that session's end while its
// heartbeats kept telling it it was fresh (and the first attach's poll interval was never
// cleared). The interleaving is forced here: lastId() held until released, the shared read held
// back for the instant of the commit. On a real server it is a race of a few milliseconds.

/** What attach() uses of a ServerResponse, keeping what was written. */
class Sink extends EventEmitter {
  text = '';
  writableLength = 0;
  write(chunk: string) {
    this.text += chunk;
    return true;
  }
  end() {
    this.emit('close');
  }
  destroy() {
    this.emit('close');
  }
}

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe('the event stream, two listeners attaching at once to an instance with none', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t?.close());

  it('gives the first one every session end committed after it attached', async () => {
    const stream = t.app.get(EventStreamService);
    const events = t.app.get(SessionEventsRepository);
    const user = await registerAndLogin(t);

    const gates = [gate(), gate()];
    let calls = 0;
    const lastId = events.lastId.bind(events);
    events.lastId = async () => {
      await gates[Math.min(calls++, 1)]!.opened;
      return lastId();
    };
    const first = new Sink();
    const second = new Sink();
    const heartbeats = (sink: Sink) => sink.text.split('event: heartbeat').length - 1;
    const until = async (check: () => boolean) => {
      for (let i = 0; !check(); i++) {
        if (i > 500) throw new Error('timed out');
        await sleep(10);
      }
    };
    try {
      void stream.attach(first as unknown as ServerResponse, undefined);
      void stream.attach(second as unknown as ServerResponse, undefined);
      gates[0]!.open();
      await until(() => heartbeats(first) > 0);

      // The session ends; the shared read has not run yet when a second lastId() (if any) does.
      const shared = stream as unknown as { read: () => void };
      const read = shared.read;
      shared.read = () => {};
      await logoutRequest(t, user.token).expect(200);
      gates[1]!.open();
      await until(() => heartbeats(second) > 0);
      shared.read = read;

      await sleep(1000); // several reads and heartbeats
      expect(heartbeats(first)).toBeGreaterThan(2);
      expect(second.text).toContain(user.sessionId);
      expect(first.text).toContain(user.sessionId);
    } finally {
      events.lastId = lastId;
      first.end();
      second.end();
    }
  });
});

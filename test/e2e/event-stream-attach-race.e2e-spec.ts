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

describe('the event stream, listeners attaching', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t?.close());

  it('two at once to an instance with none: the first one gets every session end committed after it attached', async () => {
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

  // The heartbeat written after a listener's catch-up must not say lagMs 0 ("every end committed
  // before now has been sent"): an end that committed after the catch-up's query and before that
  // heartbeat, not yet read by the shared read, is not in what was sent. The claim that holds is
  // the time since the catch-up began.
  it('claims in its first heartbeat only what the catch-up read', async () => {
    const stream = t.app.get(EventStreamService);
    const events = t.app.get(SessionEventsRepository);
    const user = await registerAndLogin(t);
    const held = gate();
    let queried = false;
    const denying = events.denying.bind(events);
    events.denying = async (after, limit) => {
      const page = await denying(after, limit);
      // Held after the catch-up's last page (a short one) was read.
      if (page.length < limit) {
        queried = true;
        await held.opened;
      }
      return page;
    };
    const shared = stream as unknown as { read: () => void };
    const read = shared.read;
    const sink = new Sink();
    try {
      shared.read = () => {};
      void stream.attach(sink as unknown as ServerResponse, undefined);
      for (let i = 0; !queried; i++) {
        if (i > 500) throw new Error('timed out');
        await sleep(10);
      }
      await logoutRequest(t, user.token).expect(200);
      const endedBy = Date.now();
      await sleep(20);
      held.open();
      for (let i = 0; !sink.text.includes('event: heartbeat'); i++) {
        if (i > 500) throw new Error('timed out');
        await sleep(10);
      }
      const at = sink.text.indexOf('event: heartbeat');
      const heartbeat = JSON.parse(/data: (.*)/.exec(sink.text.slice(at))![1]!) as { time: string; lagMs: number };
      const claimedUpTo = Date.parse(heartbeat.time) - heartbeat.lagMs;
      // Either the heartbeat does not vouch for the end, or the end was sent before it.
      const sentBefore = sink.text.slice(0, at).includes(user.sessionId);
      expect({ vouchesForTheEnd: claimedUpTo > endedBy, sentBefore }).not.toStrictEqual({ vouchesForTheEnd: true, sentBefore: false });
    } finally {
      shared.read = read;
      events.denying = denying;
      sink.end();
    }
  });
});

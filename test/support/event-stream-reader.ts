import http from 'node:http';

// A client of GET /api/v1/events/stream that parses the Server-Sent Events itself (the WHATWG
// event-stream format: fields up to a blank line), timing each message as it arrives.

export interface SseMessage {
  /** The `id:` field of the message, when it had one. */
  id?: string;
  event: string;
  data: string;
  /** performance.now() when its blank line arrived. */
  at: number;
}

/** A session.ended event as the stream and the feed carry it. */
export interface WireEvent {
  id: string;
  type: string;
  timestamp: string;
  data: { sessionId: string; userId: string; reason: string; version: number; denyUntil: string };
}

export interface EventStreamReader {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The whole body, as received (for an answer that is not a stream). */
  text(): string;
  /** The `retry:` fields, in order. */
  retries: number[];
  /** Every dispatched message, heartbeats included, in order. */
  messages: SseMessage[];
  /** The session.ended events received, in order, each with its `id:` and arrival time. */
  events(): Array<WireEvent & { sseId?: string; at: number }>;
  heartbeats(): Array<SseMessage & { time: string; lagMs: number }>;
  /** Resolves with what `find` returns once it returns something; rejects after `timeoutMs`. */
  waitFor<T>(find: () => T | undefined | false, timeoutMs?: number): Promise<T>;
  /** Resolves with performance.now() when the server ends the response (or the connection goes). */
  ended: Promise<number>;
  /** Closes the connection from this side. */
  close(): void;
}

export interface OpenOptions {
  authorization?: string;
  lastEventId?: string;
}

export const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

/** Opens the stream of the server at `baseUrl` and resolves once its status and headers arrived. */
export function openEventStream(baseUrl: string, { authorization, lastEventId }: OpenOptions = {}): Promise<EventStreamReader> {
  const headers: Record<string, string> = { Accept: 'text/event-stream' };
  if (authorization !== undefined) headers.Authorization = authorization;
  if (lastEventId !== undefined) headers['Last-Event-ID'] = lastEventId;
  return new Promise((resolve, reject) => {
    const req = http.get(new URL('/api/v1/events/stream', baseUrl), { headers, agent: false });
    req.once('error', reject);
    req.once('response', (res) => {
      req.removeListener('error', reject);
      req.on('error', () => undefined); // a reset shows as `ended`
      res.setEncoding('utf8');
      let body = '';
      let pending = '';
      let field = { id: undefined as string | undefined, event: '', data: [] as string[] };
      const messages: SseMessage[] = [];
      const retries: number[] = [];
      const wakers = new Set<() => void>();
      const wake = () => [...wakers].forEach((w) => w());
      let finished = false;

      const line = (text: string) => {
        if (text === '') {
          if (field.data.length > 0) messages.push({ id: field.id, event: field.event || 'message', data: field.data.join('\n'), at: performance.now() });
          field = { id: undefined, event: '', data: [] };
          return;
        }
        if (text.startsWith(':')) return; // a comment
        const colon = text.indexOf(':');
        const name = colon === -1 ? text : text.slice(0, colon);
        let value = colon === -1 ? '' : text.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (name === 'id') field.id = value;
        else if (name === 'event') field.event = value;
        else if (name === 'data') field.data.push(value);
        else if (name === 'retry' && /^\d+$/.test(value)) retries.push(Number(value));
      };

      res.on('data', (chunk: string) => {
        body += chunk;
        let text = pending + chunk;
        // A \r at the end may be half of a \r\n: it waits with the unfinished line.
        const held = text.endsWith('\r') ? '\r' : '';
        if (held) text = text.slice(0, -1);
        const lines = text.split(/\r\n|\r|\n/);
        pending = lines.pop()! + held;
        lines.forEach(line);
        wake();
      });
      const ended = new Promise<number>((done) => {
        const end = () => {
          if (finished) return;
          finished = true;
          done(performance.now());
          wake();
        };
        res.once('end', end);
        res.once('close', end);
        res.once('error', end);
      });

      const parsed = <T>(m: SseMessage) => ({ ...(JSON.parse(m.data) as T), sseId: m.id, at: m.at });
      resolve({
        status: res.statusCode!,
        headers: res.headers,
        text: () => body,
        retries,
        messages,
        events: () => messages.filter((m) => m.event === 'session.ended').map((m) => parsed<WireEvent>(m)),
        heartbeats: () =>
          messages.filter((m) => m.event === 'heartbeat').map((m) => ({ ...m, ...(JSON.parse(m.data) as { time: string; lagMs: number }) })),
        waitFor: (find, timeoutMs = 5000) =>
          new Promise((done, fail) => {
            const check = () => {
              let found;
              try {
                found = find();
              } catch (err) {
                finish();
                fail(err);
                return;
              }
              if (found !== undefined && found !== false) {
                finish();
                done(found);
              } else if (finished) {
                finish();
                fail(new Error('the stream ended before what was waited for arrived'));
              }
            };
            const timer = setTimeout(() => {
              finish();
              fail(new Error(`not received within ${timeoutMs} ms`));
            }, timeoutMs);
            const finish = () => {
              clearTimeout(timer);
              wakers.delete(check);
            };
            wakers.add(check);
            check();
          }),
        ended,
        close: () => {
          req.destroy();
          res.destroy();
        },
      });
    });
  });
}

import net from 'node:net';

/** A raw TCP connection to the server, for what an HTTP client library would not do. */
export interface RawConnection {
  write(data: string | Buffer): void;
  /** Everything received so far. */
  received(): string;
  /** Resolves with the milliseconds from connecting to the server closing the connection. */
  closed: Promise<number>;
  destroy(): void;
}

export function rawConnection(port: number): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let text = '';
    const socket = net.connect(port, '127.0.0.1');
    const closed = new Promise<number>((done) => socket.once('close', () => done(Date.now() - started)));
    socket.on('data', (chunk) => (text += chunk));
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.removeListener('error', reject);
      socket.on('error', () => undefined); // a reset shows as `closed`
      resolve({ write: (t) => socket.write(t), received: () => text, closed, destroy: () => socket.destroy() });
    });
  });
}

/** The head of a request to `path` promising a body of `length` bytes (sent separately, or never). */
export const requestHead = (method: string, path: string, length: number, headers: Record<string, string> = {}) =>
  `${method} ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n` +
  Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('') +
  '\r\n';

/** Splits what a connection received into responses: status, lower-cased headers, body. */
export function parseResponses(text: string): Array<{ status: number; headers: Record<string, string>; body: string }> {
  const responses = [];
  let rest = text;
  while (rest.startsWith('HTTP/1.1 ')) {
    const headEnd = rest.indexOf('\r\n\r\n');
    const [statusLine, ...lines] = rest.slice(0, headEnd).split('\r\n');
    const headers = Object.fromEntries(
      lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
    );
    const length = Number(headers['content-length'] ?? 0);
    const body = Buffer.from(rest.slice(headEnd + 4)).subarray(0, length).toString();
    responses.push({ status: Number(statusLine!.split(' ')[1]), headers, body });
    rest = rest.slice(headEnd + 4 + body.length);
  }
  return responses;
}

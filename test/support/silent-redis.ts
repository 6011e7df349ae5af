import net from 'node:net';

/**
 * A TCP server on 127.0.0.1 (a free port) standing for a Redis that accepts connections and never
 * answers, as one stopped with `kill -STOP` or on a frozen host: the kernel still completes the
 * TCP handshake, then nothing comes back. With `handshake: false` it never writes a byte (the
 * client never gets past connecting). With `handshake: true` it first answers the connection
 * handshake of ioredis (`CLIENT SETINFO`, the `INFO` ready check) like a healthy Redis, so the
 * client believes it is ready, and then answers no other command (as a Redis that froze once
 * the client was connected).
 */
export interface SilentRedis {
  readonly url: string;
  /** Connections accepted since the start. */
  readonly connections: number;
  /** Names (uppercase) of the commands received and left unanswered, in order. */
  readonly unanswered: readonly string[];
  close(): Promise<void>;
}

const INFO = '# Server\r\nredis_version:7.2.0\r\nredis_mode:standalone\r\nloading:0\r\n';

export async function startSilentRedis(options: { handshake: boolean }): Promise<SilentRedis> {
  const open = new Set<net.Socket>();
  const unanswered: string[] = [];
  let connections = 0;

  const server = net.createServer((socket) => {
    connections++;
    open.add(socket);
    socket.on('error', () => socket.destroy()).on('close', () => open.delete(socket));
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (let next = takeCommand(pending); next; next = takeCommand(pending)) {
        const [args, rest] = next;
        pending = rest;
        const name = (args[0] ?? '').toUpperCase();
        if (options.handshake && name === 'CLIENT') socket.write('+OK\r\n');
        else if (options.handshake && name === 'INFO') socket.write(`$${Buffer.byteLength(INFO)}\r\n${INFO}\r\n`);
        else unanswered.push(name);
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject).listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;

  return {
    url: `redis://127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    unanswered,
    close() {
      for (const socket of open) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** One RESP command (an array of bulk strings, as clients send them) off the front of `buf`. */
function takeCommand(buf: Buffer): [string[], Buffer] | undefined {
  let pos = 0;
  const line = () => {
    const end = buf.indexOf('\r\n', pos);
    if (end < 0) return undefined;
    const text = buf.toString('latin1', pos, end);
    pos = end + 2;
    return text;
  };
  const head = line();
  if (head === undefined) return undefined;
  const args: string[] = [];
  for (let i = Number(head.slice(1)); i > 0; i--) {
    const size = line();
    if (size === undefined) return undefined;
    const length = Number(size.slice(1));
    if (buf.length < pos + length + 2) return undefined;
    args.push(buf.toString('utf8', pos, pos + length));
    pos += length + 2;
  }
  return [args, buf.subarray(pos)];
}

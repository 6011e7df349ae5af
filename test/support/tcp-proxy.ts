import net from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 (a free port) in front of another server, for making a database
 * "go away" under a running app and come back on the same port. While cut, every open
 * connection is destroyed, and new ones are either accepted and closed at once (`reset`: the
 * driver sees "Connection terminated") or refused because nothing listens (`refuse`:
 * ECONNREFUSED). `stall()` is the nastier fault: connections stay open and nothing comes back,
 * as when the database host freezes or a firewall drops packets.
 */
export interface TcpProxy {
  readonly port: number;
  /** Connections that went through the proxy since it started (cut ones included). */
  readonly accepted: number;
  /** Destroys every open connection and refuses new ones until `restore()`. */
  cut(mode?: 'reset' | 'refuse'): Promise<void>;
  /** Stops forwarding on open connections and holds new ones open, answering nothing. */
  stall(): void;
  /** Accepts and forwards connections again, on the same port (stalled ones are reset). */
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<net.Socket>();
  const pairs = new Set<[net.Socket, net.Socket]>();
  let isCut = false;
  let isStalled = false;
  let accepted = 0;

  const server = net.createServer((client) => {
    if (isCut) {
      client.destroy();
      return;
    }
    if (isStalled) {
      open.add(client);
      client.on('error', () => client.destroy()).pause();
      return;
    }
    accepted++;
    const upstream = net.connect(target.port, target.host);
    open.add(client);
    open.add(upstream);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    const end = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
      pairs.delete(pair);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });

  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  const stopListening = () => new Promise<void>((resolve) => server.close(() => resolve()));

  await listen(0);
  const { port } = server.address() as net.AddressInfo;

  const destroyAll = () => {
    for (const socket of open) socket.destroy();
    open.clear();
  };

  return {
    port,
    get accepted() {
      return accepted;
    },
    async cut(mode = 'reset') {
      isCut = true;
      destroyAll();
      if (mode === 'refuse' && server.listening) await stopListening();
    },
    stall() {
      isStalled = true;
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream).pause();
        upstream.unpipe(client).pause();
      }
    },
    async restore() {
      if (isStalled) destroyAll();
      isStalled = false;
      isCut = false;
      if (!server.listening) await listen(port);
    },
    async close() {
      destroyAll();
      if (server.listening) await stopListening();
    },
  };
}

/** A proxy in front of the server a `postgres://` or `redis://` URL names, and the same URL through it. */
export async function proxyInFront(url: string, defaultPort: number): Promise<{ proxy: TcpProxy; url: string }> {
  const target = new URL(url);
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || defaultPort) });
  const through = new URL(url);
  through.hostname = '127.0.0.1';
  through.port = String(proxy.port);
  return { proxy, url: through.toString() };
}

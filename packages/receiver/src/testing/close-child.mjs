// Runs a receiver in its own process, to see that close() leaves nothing keeping it alive.
// Node strips the types of the .ts sources; this hook maps their `.js` imports onto them.
import { registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, next) {
    try {
      return next(specifier, context);
    } catch (err) {
      if (specifier.startsWith('.') && specifier.endsWith('.js')) return next(`${specifier.slice(0, -3)}.ts`, context);
      throw err;
    }
  },
});

const { createReceiver } = await import('../index.js');
const { URL: url, CLIENT_ID: clientId, CLIENT_SECRET: clientSecret, TOKEN: token, MODE: mode } = process.env;
const receiver = createReceiver({ url, clientId, clientSecret, stalenessMs: 300, whenStale: 'introspect' });
await receiver.start();
const first = await receiver.verify(token);
let pending;
process.stdout.write('ready\n');
if (mode === 'introspecting') {
  // The server stops its heartbeats and holds introspections: close() must end the one under way.
  while (!receiver.stale) await new Promise((r) => setTimeout(r, 20));
  pending = receiver.verify(token);
  await new Promise((r) => setTimeout(r, 50));
}
await receiver.close();
const second = await pending;
process.stdout.write(`${JSON.stringify({ first, second, closedAt: Date.now() })}\n`);

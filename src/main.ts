import 'reflect-metadata';
import { Logger } from 'nestjs-pino';
import { createApp } from './app.factory.js';
import { loadEnv } from './config/load-env.js';
import { DOCS_PATH } from './http/swagger.js';
import { stopOnSignals } from './shutdown/stop-on-signals.js';

async function main(): Promise<void> {
  const env = loadEnv();
  const app = await createApp(env);
  if (env.jwtSecretGenerated) app.get(Logger).warn('JWT_SECRET is not set: using a random secret, tokens will not survive a restart');
  if (env.jwtPrivateKeyGenerated) app.get(Logger).warn('JWT_PRIVATE_KEY is not set: signing with a key generated at start, tokens will not survive a restart');
  if (env.mfaKeyGenerated) app.get(Logger).warn('MFA_ENCRYPTION_KEY is not set: TOTP secrets are encrypted under a key derived from JWT_SECRET');
  if (!env.MFA_ENCRYPTION_KEY) app.get(Logger).warn('MFA_ENCRYPTION_KEY is not set: TOTP factors answer 503 until it is; passkeys and recovery codes work');
  if (env.NODE_ENV === 'production' && !env.SMTP_URL) {
    app.get(Logger).warn('SMTP_URL is not set: reset and verification mail waits in the outbox until an instance with SMTP_URL sends it');
  }
  stopOnSignals(app, env.SHUTDOWN_DELAY_SECONDS * 1000);
  await app.listen({ port: env.PORT, host: '0.0.0.0' });
  const url = `http://localhost:${env.PORT}`;
  app.get(Logger).log(`Listening on ${url}, Swagger UI at ${url}/${DOCS_PATH}`);
}

main().catch((err: unknown) => {
  // Configuration errors are one line naming the variable; anything else was logged by Nest already.
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});

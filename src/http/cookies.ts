import fastifyCookie from '@fastify/cookie';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';

/**
 * Cookie mode only (the plugin adds an onSend hook to every route), and without its parsing
 * hook: the refresh route alone reads a cookie (auth/refresh-cookie.ts).
 */
export async function enableCookies(app: NestFastifyApplication, enabled: boolean): Promise<void> {
  if (enabled) await app.register(fastifyCookie, { hook: false });
}

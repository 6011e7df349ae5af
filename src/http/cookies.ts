import fastifyCookie from '@fastify/cookie';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';

// Cookie mode only, and no parsing hook: the plugin costs every route, and only refresh reads a cookie.
export async function enableCookies(app: NestFastifyApplication, enabled: boolean): Promise<void> {
  if (enabled) await app.register(fastifyCookie, { hook: false });
}

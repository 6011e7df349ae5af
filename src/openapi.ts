import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { NestFactory } from '@nestjs/core';
import { prefixRoutes } from './app.factory.js';
import { AppModule } from './app.module.js';
import { validateEnv } from './config/env.validation.js';
import { fastifyAdapter } from './http/fastify-adapter.js';
import { openApiDocument } from './http/swagger.js';

// Preview mode reads the routes (src/app.parts.ts's too) and starts no provider: no database, no secret.
async function writeOpenApi(file = process.argv[2] ?? 'openapi.json'): Promise<void> {
  const env = validateEnv({ JWT_SECRET: 'only-the-routes-are-read-here-not-the-secret', LOG_LEVEL: 'silent' });
  const app = await NestFactory.create(AppModule.forRoot(env), fastifyAdapter(env), { preview: true, logger: false, abortOnError: false });
  prefixRoutes(app);
  writeFileSync(file, `${JSON.stringify(openApiDocument(app), null, 2)}\n`);
  await app.close();
  console.log(`Wrote ${file}`);
}

await writeOpenApi();

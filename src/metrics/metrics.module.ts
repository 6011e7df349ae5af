import { Global, Module } from '@nestjs/common';
import { MetricsServer } from './metrics.server.js';
import { MetricsService } from './metrics.service.js';

/** Global: sessions, the rate-limit guard and app.setup.ts count through MetricsService. */
@Global()
@Module({
  providers: [MetricsService, MetricsServer],
  exports: [MetricsService],
})
export class MetricsModule {}

import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { FactorsModule } from '../factors/factors.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { UsersModule } from '../users/users.module.js';
import { WebhooksModule } from '../webhooks/webhooks.module.js';
import { AdminServer } from './admin.server.js';
import { AdminService } from './admin.service.js';

@Module({
  imports: [UsersModule, SessionsModule, AuditModule, WebhooksModule, FactorsModule],
  providers: [AdminService, AdminServer],
  exports: [AdminServer],
})
export class AdminModule {}

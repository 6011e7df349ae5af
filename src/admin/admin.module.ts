import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { UsersModule } from '../users/users.module.js';
import { WebhooksModule } from '../webhooks/webhooks.module.js';
import { AdminServer } from './admin.server.js';
import { AdminService } from './admin.service.js';

@Module({
  imports: [UsersModule, SessionsModule, AuditModule, WebhooksModule],
  providers: [AdminService, AdminServer],
  exports: [AdminServer],
})
export class AdminModule {}

import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { SessionsService } from './sessions.service.js';

@Module({
  imports: [AuditModule],
  providers: [SessionsService],
  exports: [SessionsService],
})
export class SessionsModule {}

import { Module } from '@nestjs/common';
import { SessionRetentionJob } from './session-retention.job.js';
import { SessionsRepository } from './sessions.repository.js';
import { SessionsService } from './sessions.service.js';

@Module({
  providers: [SessionsService, SessionsRepository, SessionRetentionJob],
  exports: [SessionsService],
})
export class SessionsModule {}

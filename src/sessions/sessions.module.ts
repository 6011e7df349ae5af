import { Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module.js';
import { RefreshTokensService } from './refresh-tokens.service.js';
import { SessionPolicy } from './session-policy.js';
import { SessionRetentionJob } from './session-retention.job.js';
import { SessionsRepository } from './sessions.repository.js';
import { SessionsService } from './sessions.service.js';

@Module({
  imports: [UsersModule],
  providers: [SessionPolicy, SessionsRepository, SessionsService, RefreshTokensService, SessionRetentionJob],
  exports: [SessionsService, RefreshTokensService],
})
export class SessionsModule {}

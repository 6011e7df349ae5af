import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { FactorsModule } from '../factors/factors.module.js';
import { PasskeyLoginService } from './passkey-login.service.js';
import { PasskeysController } from './passkeys.controller.js';

/** The routes of passkeys: registration and passwordless login (the ceremonies live in FactorsModule). */
@Module({
  imports: [AuthModule, FactorsModule],
  controllers: [PasskeysController],
  providers: [PasskeyLoginService],
})
export class PasskeysModule {}

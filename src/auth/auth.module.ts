import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { AuditModule } from '../audit/audit.module.js';
import { FactorsModule } from '../factors/factors.module.js';
import { OutboxModule } from '../outbox/outbox.module.js';
import { AuthConfig } from './auth.config.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { UsersModule } from '../users/users.module.js';
import { AccessTokenService } from './access-token.service.js';
import { AuthController } from './auth.controller.js';
import { AuthService } from './auth.service.js';
import { IntrospectionController } from './introspection.controller.js';
import { JwksController } from './jwks.controller.js';
import { LogoutController } from './logout.controller.js';
import { PasswordController } from './password.controller.js';
import { SessionsController } from './sessions.controller.js';
import { SignInService } from './sign-in.service.js';
import { hs256KeyOf, SigningKeysService } from './signing-keys.service.js';
import { TokenAnswer } from './token-answer.js';

@Module({
  imports: [
    UsersModule,
    SessionsModule,
    AuditModule,
    FactorsModule,
    OutboxModule,
    JwtModule.registerAsync({
      inject: [AuthConfig],
      useFactory: (config: AuthConfig) => ({
        secret: hs256KeyOf(config),
        signOptions: {
          algorithm: 'HS256',
          issuer: config.JWT_ISSUER,
          audience: config.JWT_AUDIENCE,
        },
      }),
    }),
  ],
  controllers: [AuthController, LogoutController, SessionsController, PasswordController, IntrospectionController, JwksController],
  providers: [AuthService, SignInService, TokenAnswer, AccessTokenService, SigningKeysService],
  // The guard's token services for AppModule; the sign-in seam for the other ways in.
  exports: [AccessTokenService, SigningKeysService, SignInService, TokenAnswer, FactorsModule, AuthService],
})
export class AuthModule {}

import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { JwtModule } from '@nestjs/jwt';
import { AuditModule } from '../audit/audit.module.js';
import type { Env } from '../config/env.validation.js';
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
    JwtModule.registerAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<Env, true>) => ({
        secret: hs256KeyOf(config),
        signOptions: {
          algorithm: 'HS256',
          issuer: config.get('JWT_ISSUER', { infer: true }),
          audience: config.get('JWT_AUDIENCE', { infer: true }),
        },
      }),
    }),
  ],
  controllers: [AuthController, LogoutController, SessionsController, PasswordController, IntrospectionController, JwksController],
  providers: [AuthService, SignInService, TokenAnswer, AccessTokenService, SigningKeysService],
  // The guard's token services for AppModule; the sign-in seam for the other ways in.
  exports: [AccessTokenService, SigningKeysService, SignInService, TokenAnswer],
})
export class AuthModule {}

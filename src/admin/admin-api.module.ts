import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { AllExceptionsFilter } from '../errors/all-exceptions.filter.js';
import { validationPipe } from '../http/validation.pipe.js';
import { ADMIN_TOKENS, AdminTokenGuard } from './admin-token.guard.js';
import { AdminController } from './admin.controller.js';
import { AdminService } from './admin.service.js';

// An app of its own around the main app's AdminService: it shares the one pool and nothing else.
@Module({})
export class AdminApiModule {
  static forRoot(service: AdminService, tokens: readonly string[]): DynamicModule {
    return {
      module: AdminApiModule,
      controllers: [AdminController],
      providers: [
        { provide: AdminService, useValue: service },
        { provide: ADMIN_TOKENS, useValue: tokens },
        { provide: APP_GUARD, useClass: AdminTokenGuard },
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
        { provide: APP_PIPE, useFactory: validationPipe },
      ],
    };
  }
}

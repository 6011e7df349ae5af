import { type DynamicModule, Module } from '@nestjs/common';
import { type Env, FEATURE_CONFIGS } from './env.validation.js';

/** Each feature injects its own slice of the one validated environment, by its config class. */
@Module({})
export class EnvModule {
  static forRoot(env: Env): DynamicModule {
    const providers = FEATURE_CONFIGS.map((config) => ({ provide: config, useValue: env }));
    return { module: EnvModule, global: true, providers, exports: providers };
  }
}

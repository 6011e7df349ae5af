import 'reflect-metadata';
import { applyDecorators } from '@nestjs/common';
import { IsInt, IsOptional, Matches, Max, Min } from 'class-validator';

const RequestLimit = () => applyDecorators(IsInt(), Min(1), Max(1_000_000));
const WindowSeconds = () => applyDecorators(IsInt(), Min(1), Max(86_400, { message: 'must be at most 86400 (a day)' }));

export class RateLimitConfig {
  @RequestLimit()
  THROTTLE_LOGOUT_LIMIT: number = 10;

  @WindowSeconds()
  THROTTLE_LOGOUT_TTL: number = 60;

  @RequestLimit()
  THROTTLE_LOGIN_LIMIT: number = 5;

  @WindowSeconds()
  THROTTLE_LOGIN_TTL: number = 60;

  @RequestLimit()
  THROTTLE_REFRESH_LIMIT: number = 60;

  @WindowSeconds()
  THROTTLE_REFRESH_TTL: number = 60;

  @RequestLimit()
  THROTTLE_FORGOT_RECIPIENT_LIMIT: number = 3;

  @WindowSeconds()
  THROTTLE_FORGOT_RECIPIENT_TTL: number = 900;

  @RequestLimit()
  THROTTLE_INTROSPECTION_FAILURE_LIMIT: number = 10;

  @WindowSeconds()
  THROTTLE_INTROSPECTION_FAILURE_TTL: number = 60;

  @IsOptional()
  @Matches(/^rediss?:\/\/\S+$/, { message: 'must be a redis:// URL' })
  REDIS_URL?: string;
}

import 'reflect-metadata';
import { IsInt, Max, Min } from 'class-validator';

export class SessionsConfig {
  @IsInt()
  @Min(60)
  @Max(31_536_000, { message: 'must be at most 31536000 (a year)' })
  SESSION_IDLE_TTL: number = 604_800;

  @IsInt()
  @Min(60)
  @Max(31_536_000, { message: 'must be at most 31536000 (a year)' })
  SESSION_MAX_TTL: number = 2_592_000;

  @IsInt()
  @Min(0)
  @Max(3650)
  SESSION_RETENTION_DAYS: number = 30;

  @IsInt()
  @Min(0)
  @Max(300, { message: 'must be at most 300 (five minutes)' })
  REFRESH_REUSE_GRACE: number = 10;

  // Validated with auth's: an access token's life bounds a session's, and refresh successors derive from the secret.
  declare readonly JWT_ACCESS_TTL: number;
  declare readonly JWT_SECRET?: string;
}

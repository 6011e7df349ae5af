import 'reflect-metadata';
import { IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import { parsedOnce } from '../config/parsed-once.js';

export class AdminConfig {
  /** Unset: no operator API. */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(65_535)
  ADMIN_PORT?: number;

  @IsOptional()
  @IsString()
  ADMIN_TOKENS?: string;
}

export const adminTokensOf = parsedOnce((env: Pick<AdminConfig, 'ADMIN_PORT' | 'ADMIN_TOKENS'>): string[] => {
  const tokens = (env.ADMIN_TOKENS ?? '').split(',').map((token) => token.trim()).filter(Boolean);
  if (env.ADMIN_PORT !== undefined && tokens.length === 0) throw new Error('Invalid configuration: ADMIN_TOKENS is required with ADMIN_PORT');
  if (tokens.some((token) => token.length < 32)) throw new Error('Invalid configuration: ADMIN_TOKENS must each be at least 32 characters');
  return tokens;
});

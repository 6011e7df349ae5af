import { ApiProperty } from '@nestjs/swagger';
import { AMR_VALUES } from '../../sessions/amr.js';

const UUID = '3f0c9a52-6a51-4a3e-9f7c-2f1f5b8f9a10';

export class RegisteredUserDto {
  @ApiProperty({ format: 'uuid', example: UUID })
  id: string;

  @ApiProperty({ format: 'email', example: 'ana@example.com', description: 'Stored lowercased.' })
  email: string;
}

export class MeDto {
  @ApiProperty({ format: 'uuid', example: UUID })
  id: string;

  @ApiProperty({ format: 'email', example: 'ana@example.com' })
  email: string;

  @ApiProperty({ format: 'uuid', example: UUID, description: 'The session the bearer token belongs to.' })
  sessionId: string;

  @ApiProperty({ enum: AMR_VALUES, isArray: true, example: ['pwd', 'otp'], description: 'How this session was authenticated (RFC 8176).' })
  amr: string[];

  @ApiProperty({ format: 'date-time', example: '2026-11-20T09:12:00.000Z', description: 'The last time a factor (or, without factors, the password) was proved on this session; step-up reads it.' })
  authenticatedAt: string;
}

export class RevokedSessionsDto {
  @ApiProperty({ type: 'integer', minimum: 0, example: 2 })
  revokedSessions: number;
}

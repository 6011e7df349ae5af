import { ApiProperty } from '@nestjs/swagger';

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
}

export class RevokedSessionsDto {
  @ApiProperty({ type: 'integer', minimum: 0, example: 2 })
  revokedSessions: number;
}

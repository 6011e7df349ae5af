import { ApiProperty } from '@nestjs/swagger';

export class FactorDto {
  @ApiProperty({ format: 'uuid', example: '6d1f0c4e-2b7a-4f58-9c3e-0a9b8c7d6e5f' })
  id: string;

  @ApiProperty({ enum: ['totp', 'webauthn'], example: 'totp' })
  type: 'totp' | 'webauthn';

  @ApiProperty({ example: 'Aplicación de autenticación' })
  name: string;

  @ApiProperty({ format: 'date-time', example: '2026-11-20T09:12:00.000Z' })
  createdAt: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: '2026-11-22T10:40:00.000Z', description: 'The last time it proved the user (its confirmation counts); null when never.' })
  lastUsedAt: string | null;
}

export class FactorListDto {
  @ApiProperty({ type: [FactorDto], description: 'Confirmed factors only, oldest first; a pending TOTP factor is not listed.' })
  factors: FactorDto[];
}

export class RevokedSessionsDto {
  @ApiProperty({ example: 1, description: 'The other sessions of the user that ended.' })
  revokedSessions: number;
}

export class RecoveryCodesDto {
  @ApiProperty({ type: [String], example: ['K7QM-2XHD-9PLA-RT4E'], description: '10 single-use codes, shown once; the old ones no longer work.' })
  recoveryCodes: string[];
}

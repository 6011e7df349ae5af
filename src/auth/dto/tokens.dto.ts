import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** `data` of a login or a refresh. */
export class TokensDto {
  @ApiProperty({ example: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...', description: 'Send as `Authorization: Bearer <accessToken>`.' })
  accessToken: string;

  @ApiPropertyOptional({
    example: 'PwyaUmpRSj6ffC8fW4-aEAAAAAHq0Nn3l3v2mUQ6o0dN0b3F6rVxk1W2aQkq3sX0gQ4Y',
    description: 'Single use: each refresh returns the next one. Absent in cookie mode, where the HttpOnly cookie carries it.',
  })
  refreshToken?: string;

  @ApiProperty({ enum: ['Bearer'], example: 'Bearer' })
  tokenType: 'Bearer';

  @ApiProperty({ type: 'integer', example: 900, description: 'Seconds until the access token expires.' })
  expiresIn: number;

  @ApiProperty({ format: 'uuid', example: '3f0c9a52-6a51-4a3e-9f7c-2f1f5b8f9a10' })
  sessionId: string;
}

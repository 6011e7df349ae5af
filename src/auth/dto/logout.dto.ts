import { ApiPropertyOptional } from '@nestjs/swagger';
import { Allow } from 'class-validator';

export class LogoutDto {
  /**
   * Not validated here on purpose: anything but a valid access token of the bearer's own user
   * answers 401 like a bad bearer token, not 400.
   */
  @ApiPropertyOptional({
    type: String,
    description: 'Access token to invalidate; absent: the bearer token itself. Must belong to the same user.',
    example: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...',
  })
  @Allow()
  token?: unknown;
}

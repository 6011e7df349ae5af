import { ApiPropertyOptional } from '@nestjs/swagger';
import { Allow } from 'class-validator';

export class RefreshDto {
  // Not validated here: anything but a live refresh token answers 401, not 400.
  @ApiPropertyOptional({
    type: String,
    description: 'The refresh token from login or the last refresh (bearer mode). In cookie mode send `{}`: the cookie carries it.',
    example: 'q4Qbl0i1VYfYc2K0y0uO6g8AAAAB0y5Zq6m8n0Ck3JmY1r5n2c8kq0b9c5b2Jm0mWq3w',
  })
  @Allow()
  refreshToken?: unknown;
}

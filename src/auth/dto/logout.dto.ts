import { ApiPropertyOptional } from '@nestjs/swagger';
import { Allow, IsIn, ValidateIf } from 'class-validator';

const LOGOUT_SCOPES = ['current', 'others', 'all'] as const;
type LogoutScope = (typeof LOGOUT_SCOPES)[number];

export class LogoutDto {
  // Not validated here: anything but the bearer's user's valid access token answers 401, not 400.
  @ApiPropertyOptional({
    type: String,
    description: 'Access token to invalidate; absent: the bearer token itself. Must belong to the same user. Only with scope `current`.',
    example: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...',
  })
  @Allow()
  token?: unknown;

  @ApiPropertyOptional({
    enum: LOGOUT_SCOPES,
    default: 'current',
    description: '`current`: one session (the body token\'s, or the bearer\'s); `others`: every other live session of the user; `all`: every one.',
  })
  // Absent means `current`; null is a value, and not one of these.
  @ValidateIf((dto: LogoutDto) => dto.scope !== undefined)
  @IsIn(LOGOUT_SCOPES, { message: `scope debe ser uno de: ${LOGOUT_SCOPES.join(', ')}` })
  scope?: LogoutScope;
}

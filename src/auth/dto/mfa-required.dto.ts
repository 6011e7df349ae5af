import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** `data` of a login whose user has an active second factor: no tokens yet. */
export class MfaRequiredDto {
  @ApiProperty({ enum: [true], example: true })
  mfaRequired: true;

  @ApiProperty({
    example: 'q3Vd2m0c6i7YQH1lq8nJ8n0tC2yG0bq1p5o9w4uZxKk',
    description: 'For POST /api/v1/auth/login/mfa: single use, valid 300 s, bound to this user; dies after 5 wrong codes.',
  })
  mfaToken: string;

  @ApiProperty({
    type: [String],
    enum: ['totp', 'webauthn', 'recovery_code'],
    example: ['totp', 'recovery_code'],
    description: 'The ways the user can prove a second factor, in this order, only those the user has.',
  })
  methods: Array<'totp' | 'webauthn' | 'recovery_code'>;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'With a passkey: WebAuthn request options (JSON) to answer with `webauthn` on the second step.',
  })
  webauthn?: Record<string, unknown>;
}

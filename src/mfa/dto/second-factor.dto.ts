import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDefined, IsObject, IsOptional, IsString, Length, Matches, MaxLength } from 'class-validator';
import { AppException } from '../../errors/app.exception.js';
import { ErrorCode } from '../../errors/error-code.js';

export const ONE_PROOF = 'Envíe exactamente una prueba: code, recoveryCode o webauthn';
export const ONE_STEP_UP_PROOF = 'Envíe exactamente una prueba: code, recoveryCode, webauthn o password';

/** The proofs of a second factor; exactly one is sent (see proofOf). */
export class SecondFactorProofDto {
  @ApiPropertyOptional({ example: '123456', pattern: '^[0-9]{6}$', description: 'A code of the TOTP app.' })
  @IsOptional()
  @IsString({ message: 'code debe ser texto' })
  @Matches(/^\d{6}$/, { message: 'code debe tener 6 dígitos' })
  code?: string;

  @ApiPropertyOptional({ example: 'K7QM-2XHD-9PLA-RT4E', description: 'One of the recovery codes; single use.' })
  @IsOptional()
  @IsString({ message: 'recoveryCode debe ser texto' })
  @Length(1, 64, { message: 'recoveryCode debe tener entre 1 y 64 caracteres' })
  recoveryCode?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: 'A passkey assertion (WebAuthn AuthenticationResponseJSON).' })
  @IsOptional()
  @IsObject({ message: 'webauthn debe ser un objeto' })
  webauthn?: Record<string, unknown>;
}

export class LoginMfaDto extends SecondFactorProofDto {
  @ApiProperty({ example: 'q3Vd2m0c6i7YQH1lq8nJ8n0tC2yG0bq1p5o9w4uZxKk', description: 'From the login that answered `mfaRequired`.' })
  @IsDefined({ message: 'mfaToken es obligatorio' })
  @IsString({ message: 'mfaToken debe ser texto' })
  @Length(1, 256, { message: 'mfaToken debe tener entre 1 y 256 caracteres' })
  mfaToken: string;
}

export class StepUpDto extends SecondFactorProofDto {
  @ApiPropertyOptional({ example: 'correct horse battery', description: 'Only for a user without second factors.' })
  @IsOptional()
  @IsString({ message: 'password debe ser texto' })
  @MaxLength(128, { message: 'password no puede superar 128 caracteres' })
  password?: string;
}

export type Proof = { code: string } | { recoveryCode: string } | { webauthn: Record<string, unknown> };

/** Exactly one proof, or 400: two would leave which one counts to guesswork. */
export function proofOf(dto: SecondFactorProofDto): Proof;
export function proofOf(dto: StepUpDto, withPassword: true): Proof | { password: string };
export function proofOf(dto: StepUpDto, withPassword = false): Proof | { password: string } {
  const given = (['code', 'recoveryCode', 'webauthn', ...(withPassword ? ['password'] : [])] as const).filter((key) => dto[key as keyof StepUpDto] != null);
  if (given.length !== 1) throw new AppException(ErrorCode.InvalidRequest, { errors: [withPassword ? ONE_STEP_UP_PROOF : ONE_PROOF] });
  const key = given[0] as keyof StepUpDto;
  return { [key]: dto[key] } as Proof | { password: string };
}

export class SteppedUpDto {
  @ApiProperty({ type: [String], example: ['pwd', 'otp'], description: 'How this session is now authenticated (RFC 8176).' })
  amr: string[];

  @ApiProperty({ type: String, format: 'date-time', example: '2026-01-01T12:00:00.000Z' })
  authenticatedAt: Date;
}

import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDefined, IsObject, IsOptional, IsString, Length } from 'class-validator';

const CREDENTIAL_DESCRIPTION =
  "The browser's PublicKeyCredential as JSON (`credential.toJSON()`, or @simplewebauthn/browser's answer): " +
  '`id`, `rawId`, `type: "public-key"`, `response`, `clientExtensionResults`.';

export class RegisterPasskeyDto {
  @ApiProperty({ type: 'object', additionalProperties: true, description: `${CREDENTIAL_DESCRIPTION} Its response carries \`clientDataJSON\` and \`attestationObject\`.` })
  @IsDefined({ message: 'credential es obligatorio' })
  @IsObject({ message: 'credential debe ser un objeto' })
  credential: Record<string, unknown>;

  @ApiPropertyOptional({ example: 'Portátil', maxLength: 64, description: 'Shown in the factor list.' })
  @IsOptional()
  @IsString({ message: 'name debe ser texto' })
  @Length(1, 64, { message: 'name debe tener entre 1 y 64 caracteres' })
  name?: string;
}

export class PasskeyLoginDto {
  @ApiProperty({ type: 'object', additionalProperties: true, description: `${CREDENTIAL_DESCRIPTION} Its response carries \`clientDataJSON\`, \`authenticatorData\`, \`signature\` and \`userHandle\`.` })
  @IsDefined({ message: 'credential es obligatorio' })
  @IsObject({ message: 'credential debe ser un objeto' })
  credential: Record<string, unknown>;
}

export class PasskeyOptionsDto {
  @ApiProperty({ example: 'mK3k3Q1u4b9rQdE2bq1mJw', description: 'base64url; single use, valid 300 s.' })
  challenge: string;

  @ApiPropertyOptional({ example: 'localhost', description: 'Request options: the relying party id.' })
  rpId?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: 'Creation options: `{ id, name }` of the relying party.' })
  rp?: Record<string, unknown>;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: 'Creation options: `{ id, name, displayName }`; `id` is the user handle.' })
  user?: Record<string, unknown>;

  @ApiPropertyOptional({ type: 'array', items: { type: 'object', additionalProperties: true }, description: 'Creation options: the accepted algorithms.' })
  pubKeyCredParams?: Array<Record<string, unknown>>;

  @ApiPropertyOptional({ type: 'array', items: { type: 'object', additionalProperties: true }, description: "Creation options: the user's passkeys, not to be registered again." })
  excludeCredentials?: Array<Record<string, unknown>>;

  @ApiPropertyOptional({ type: 'array', items: { type: 'object', additionalProperties: true }, description: 'Request options: empty for a passwordless login (discoverable credentials).' })
  allowCredentials?: Array<Record<string, unknown>>;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, example: { residentKey: 'required', requireResidentKey: true, userVerification: 'preferred' } })
  authenticatorSelection?: Record<string, unknown>;

  @ApiPropertyOptional({ example: 'preferred' })
  userVerification?: string;

  @ApiPropertyOptional({ type: 'integer', example: 300000 })
  timeout?: number;

  @ApiPropertyOptional({ example: 'none' })
  attestation?: string;
}

export class PasskeyRegisteredDto {
  @ApiProperty({ format: 'uuid', example: '6d1f0c4e-2b7a-4f58-9c3e-0a9b8c7d6e5f' })
  factorId: string;

  @ApiPropertyOptional({
    type: [String],
    example: ['K7QM-2XHD-9PLA-RT4E'],
    description: "The user's first factor only: 10 single-use codes, shown once.",
  })
  recoveryCodes?: string[];
}

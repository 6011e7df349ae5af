import { ApiProperty } from '@nestjs/swagger';

/** An Ed25519 public key (RFC 8037), as GET /.well-known/jwks.json publishes it. */
export class JwkDto {
  @ApiProperty({ enum: ['OKP'] })
  kty: 'OKP';

  @ApiProperty({ enum: ['Ed25519'] })
  crv: 'Ed25519';

  @ApiProperty({ description: 'The public key, base64url', example: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' })
  x: string;

  @ApiProperty({ description: 'Its RFC 7638 thumbprint, the `kid` of the tokens it verifies' })
  kid: string;

  @ApiProperty({ enum: ['EdDSA'] })
  alg: 'EdDSA';

  @ApiProperty({ enum: ['sig'] })
  use: 'sig';
}

export class JwksDto {
  @ApiProperty({ type: [JwkDto], description: 'The current key first; empty with HS256' })
  keys: JwkDto[];
}

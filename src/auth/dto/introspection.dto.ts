import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDefined, IsOptional, IsString } from 'class-validator';

export class IntrospectDto {
  @ApiProperty({ description: 'The access token to check', example: 'eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCIsImtpZCI6Ii4uLiJ9...' })
  @IsDefined({ message: 'token es obligatorio' })
  @IsString({ message: 'token debe ser un texto' })
  token: string;

  @ApiPropertyOptional({ description: 'Ignored: only access tokens are introspected', example: 'access_token' })
  @IsOptional()
  @IsString({ message: 'token_type_hint debe ser un texto' })
  token_type_hint?: string;

  @ApiPropertyOptional({ description: 'Ignored: HTTP Basic identifies the client' })
  @IsOptional()
  @IsString({ message: 'client_id debe ser un texto' })
  client_id?: string;
}

export class IntrospectionDto {
  @ApiProperty({ example: true })
  active: boolean;

  @ApiPropertyOptional({ description: 'The user id', format: 'uuid' })
  sub?: string;

  @ApiPropertyOptional({ description: 'The session id', format: 'uuid' })
  sid?: string;

  @ApiPropertyOptional({ type: 'integer', description: 'Expiry (seconds since the epoch)', example: 1767225600 })
  exp?: number;

  @ApiPropertyOptional({ type: 'integer', description: 'Issued at (seconds since the epoch)', example: 1767224700 })
  iat?: number;

  @ApiPropertyOptional({ example: 'auth-backend' })
  iss?: string;

  @ApiPropertyOptional({ example: 'auth-backend-clients' })
  aud?: string;

  @ApiPropertyOptional({ enum: ['access_token'] })
  token_type?: 'access_token';
}

export class OAuthErrorDto {
  @ApiProperty({ enum: ['invalid_client', 'invalid_request', 'server_error', 'temporarily_unavailable'], example: 'invalid_client' })
  error: string;
}

import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, IsUUID, Length, Matches } from 'class-validator';

export class EnrolTotpDto {
  @ApiPropertyOptional({ example: 'Teléfono', maxLength: 64, description: 'Shown in the factor list.' })
  @IsOptional()
  @IsString({ message: 'name debe ser texto' })
  @Length(1, 64, { message: 'name debe tener entre 1 y 64 caracteres' })
  name?: string;
}

export class PendingTotpDto {
  @ApiProperty({ format: 'uuid', example: '6d1f0c4e-2b7a-4f58-9c3e-0a9b8c7d6e5f' })
  factorId: string;

  @ApiProperty({ example: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', description: 'Base32; shown once.' })
  secret: string;

  @ApiProperty({ example: 'otpauth://totp/auth-backend:ana%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=auth-backend' })
  uri: string;
}

export class ConfirmTotpDto {
  @ApiProperty({ format: 'uuid', example: '6d1f0c4e-2b7a-4f58-9c3e-0a9b8c7d6e5f' })
  @IsUUID('all', { message: 'factorId debe ser un UUID' })
  factorId: string;

  @ApiProperty({ example: '123456', pattern: '^[0-9]{6}$' })
  @IsString({ message: 'code debe ser texto' })
  @Matches(/^\d{6}$/, { message: 'code debe tener 6 dígitos' })
  code: string;
}

export class FactorEnabledDto {
  @ApiPropertyOptional({
    type: [String],
    example: ['K7QM-2XHD-9PLA-RT4E'],
    description: "The user's first factor only: 10 single-use codes, shown once.",
  })
  recoveryCodes?: string[];
}

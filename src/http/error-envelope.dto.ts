import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class ErrorEnvelopeDto {
  @ApiProperty({ enum: [false] })
  success: false;

  @ApiProperty({ example: 'Solicitud inválida' })
  message: string;

  @ApiPropertyOptional({ type: [String], description: 'Why a 400 was answered, one reason an item.' })
  errors?: string[];
}

import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length } from 'class-validator';

export class CreateNoteDto {
  @ApiProperty({ example: 'Lista de la compra', minLength: 1, maxLength: 100 })
  @IsString()
  @Length(1, 100)
  title: string;
}

import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, Length, MaxLength } from 'class-validator';

export class ChangePasswordDto {
  @ApiProperty({ example: 'correct horse battery' })
  @IsString({ message: 'currentPassword debe ser texto' })
  @IsNotEmpty({ message: 'currentPassword es obligatorio' })
  @MaxLength(128, { message: 'currentPassword no puede superar 128 caracteres' })
  currentPassword: string;

  @ApiProperty({ example: 'staple battery horse correct', minLength: 8, maxLength: 128 })
  @IsString({ message: 'newPassword debe ser texto' })
  @Length(8, 128, { message: 'newPassword debe tener entre 8 y 128 caracteres' })
  newPassword: string;
}

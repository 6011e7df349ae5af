import { ApiProperty } from '@nestjs/swagger';
import { IsEmail, IsNotEmpty, IsString, Length, MaxLength } from 'class-validator';

export class RegisterDto {
  @ApiProperty({ example: 'ana@example.com', maxLength: 254 })
  @IsEmail({}, { message: 'email debe ser un correo válido' })
  @MaxLength(254, { message: 'email no puede superar 254 caracteres' })
  email: string;

  @ApiProperty({ example: 'correct horse battery', minLength: 8, maxLength: 128 })
  @IsString({ message: 'password debe ser texto' })
  @Length(8, 128, { message: 'password debe tener entre 8 y 128 caracteres' })
  password: string;
}

export class LoginDto {
  @ApiProperty({ example: 'ana@example.com' })
  @IsEmail({}, { message: 'email debe ser un correo válido' })
  @MaxLength(254, { message: 'email no puede superar 254 caracteres' })
  email: string;

  @ApiProperty({ example: 'correct horse battery' })
  @IsString({ message: 'password debe ser texto' })
  @IsNotEmpty({ message: 'password es obligatorio' })
  @MaxLength(128, { message: 'password no puede superar 128 caracteres' })
  password: string;
}

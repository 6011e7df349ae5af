import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsNotEmpty, IsString, Length, MaxLength, ValidateBy } from 'class-validator';
import { isAcceptedEmail, MAX_EMAIL_LENGTH, normalizeEmail } from '../../users/email.js';

// Normalized first, so what is checked is what is stored; length in code points as varchar counts ('İ' lengthens, U+FE0F counts).
export function EmailField() {
  return applyDecorators(
    ApiProperty({
      example: 'ana@example.com',
      maxLength: MAX_EMAIL_LENGTH,
      description:
        'local@domain: the local part letters, digits and `_ + - \'` in dot-separated atoms (64 bytes at most); ' +
        'the domain a hostname with a dot, an IDN in punycode (`xn--`). No quotes, comments, IP literals, `%` or `!`.',
    }),
    Transform(({ value }) => (typeof value === 'string' ? normalizeEmail(value) : value)),
    ValidateBy(
      { name: 'acceptedEmail', validator: { validate: (value) => typeof value === 'string' && isAcceptedEmail(value) } },
      { message: 'email debe ser un correo válido' },
    ),
    ValidateBy(
      { name: 'maxCodePoints', validator: { validate: (value) => typeof value === 'string' && [...value].length <= MAX_EMAIL_LENGTH } },
      { message: `email no puede superar ${MAX_EMAIL_LENGTH} caracteres` },
    ),
  );
}

export class RegisterDto {
  @EmailField()
  email: string;

  @ApiProperty({ example: 'correct horse battery', minLength: 8, maxLength: 128 })
  @IsString({ message: 'password debe ser texto' })
  @Length(8, 128, { message: 'password debe tener entre 8 y 128 caracteres' })
  password: string;
}

export class LoginDto {
  @EmailField()
  email: string;

  @ApiProperty({ example: 'correct horse battery' })
  @IsString({ message: 'password debe ser texto' })
  @IsNotEmpty({ message: 'password es obligatorio' })
  @MaxLength(128, { message: 'password no puede superar 128 caracteres' })
  password: string;
}

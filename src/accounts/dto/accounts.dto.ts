import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, Length, MaxLength } from 'class-validator';
import { EmailField } from '../../auth/dto/credentials.dto.js';

const TOKEN_EXAMPLE = 'Jr0wq3n1m2XvXk8c4b7a5Q0yH9s2L6e1T4u8W3z5R7o';

export class ForgotPasswordDto {
  @EmailField()
  email: string;
}

// Checked against the stored hashes, so only its size is bounded here.
function TokenField() {
  return (target: object, key: string) => {
    ApiProperty({ example: TOKEN_EXAMPLE, description: 'The `token` of the link the mail carried.' })(target, key);
    IsString({ message: 'token debe ser texto' })(target, key);
    IsNotEmpty({ message: 'token es obligatorio' })(target, key);
    MaxLength(256, { message: 'token no puede superar 256 caracteres' })(target, key);
  };
}

export class ResetPasswordDto {
  @TokenField()
  token: string;

  @ApiProperty({ example: 'staple battery horse correct', minLength: 8, maxLength: 128 })
  @IsString({ message: 'newPassword debe ser texto' })
  @Length(8, 128, { message: 'newPassword debe tener entre 8 y 128 caracteres' })
  newPassword: string;
}

export class VerifyEmailDto {
  @TokenField()
  token: string;
}

export class DeleteAccountDto {
  @ApiProperty({ example: 'correct horse battery' })
  @IsString({ message: 'password debe ser texto' })
  @IsNotEmpty({ message: 'password es obligatorio' })
  @MaxLength(128, { message: 'password no puede superar 128 caracteres' })
  password: string;
}

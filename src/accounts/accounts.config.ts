import 'reflect-metadata';
import { IsInt, IsUrl, Max, Min } from 'class-validator';

export class AccountsConfig {
  @IsUrl({ require_tld: false, require_protocol: true }, { message: 'must be an http(s) URL' })
  PASSWORD_RESET_URL: string = 'http://localhost:3000/reset-password';

  @IsInt()
  @Min(60)
  @Max(86_400)
  PASSWORD_RESET_TTL: number = 1800;

  @IsUrl({ require_tld: false, require_protocol: true }, { message: 'must be an http(s) URL' })
  EMAIL_VERIFICATION_URL: string = 'http://localhost:3000/verify-email';

  @IsInt()
  @Min(60)
  @Max(2_592_000)
  EMAIL_VERIFICATION_TTL: number = 86_400;
}

import 'reflect-metadata';
import { IsOptional, IsString, Matches } from 'class-validator';

export class MailConfig {
  @IsOptional()
  @Matches(/^smtps?:\/\/\S+$/, { message: 'must be an smtp:// or smtps:// URL' })
  SMTP_URL?: string;

  @IsString()
  MAIL_FROM: string = 'Auth <no-reply@localhost>';
}

import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsIn, IsInt, IsString, IsUUID, Length, Matches, Max, MaxLength, Min, ValidateIf } from 'class-validator';
import { AUDIT_EVENTS } from '../audit/audit-event.js';
import { PageQueryDto } from '../http/page-query.dto.js';

export class FindUsersQuery {
  @ApiPropertyOptional({ description: 'The start of the email (any case); none: the newest 50 accounts.' })
  @ValidateIf((q: FindUsersQuery) => q.email !== undefined)
  @IsString({ message: 'email debe ser texto' })
  @MaxLength(254, { message: 'email no puede superar 254 caracteres' })
  email?: string;
}

export class SetRolesDto {
  @ApiProperty({ type: [String], example: ['editor'] })
  @IsArray({ message: 'roles debe ser una lista' })
  @ArrayMaxSize(32, { message: 'roles admite 32 como mucho' })
  @IsString({ each: true, message: 'cada rol debe ser texto' })
  @Length(1, 64, { each: true, message: 'cada rol debe tener entre 1 y 64 caracteres' })
  @Matches(/^[A-Za-z0-9_.:-]+$/, { each: true, message: 'cada rol solo admite letras, cifras y _ . : -' })
  roles: string[];
}

export class AuditQuery {
  @ApiPropertyOptional({ format: 'uuid' })
  @ValidateIf((q: AuditQuery) => q.userId !== undefined)
  @IsUUID('all', { message: 'userId debe ser un UUID' })
  userId?: string;

  @ApiPropertyOptional({ enum: AUDIT_EVENTS })
  @ValidateIf((q: AuditQuery) => q.event !== undefined)
  @IsIn([...AUDIT_EVENTS], { message: 'event no es un evento conocido' })
  event?: string;

  @ApiPropertyOptional({ description: "The previous page's `nextCursor`." })
  @ValidateIf((q: AuditQuery) => q.after !== undefined)
  @IsString({ message: 'after no es válido' })
  @MaxLength(512, { message: 'after no es válido' })
  after?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 100, default: 50 })
  @ValidateIf((q: AuditQuery) => q.limit !== undefined)
  @Type(() => Number)
  @IsInt({ message: 'limit debe ser un entero entre 1 y 100' })
  @Min(1, { message: 'limit debe ser un entero entre 1 y 100' })
  @Max(100, { message: 'limit debe ser un entero entre 1 y 100' })
  limit?: number;
}

export class WebhookDeliveriesQuery extends PageQueryDto {
  @ApiPropertyOptional({ enum: ['pending', 'dead'], description: 'None: both.' })
  @ValidateIf((q: WebhookDeliveriesQuery) => q.status !== undefined)
  @IsIn(['pending', 'dead'], { message: 'status debe ser pending o dead' })
  status?: 'pending' | 'dead';
}

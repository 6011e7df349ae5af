import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsString, Max, MaxLength, Min, ValidateIf } from 'class-validator';

export class SessionsQueryDto {
  @ApiPropertyOptional({ enum: ['live', 'ended'], default: 'live', description: '`ended`: the ended sessions still kept, with `endedAt` and `endReason`.' })
  @ValidateIf((dto: SessionsQueryDto) => dto.state !== undefined)
  @IsIn(['live', 'ended'], { message: 'state debe ser live o ended' })
  state?: 'live' | 'ended';

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 100, default: 50 })
  @ValidateIf((dto: SessionsQueryDto) => dto.limit !== undefined)
  @Type(() => Number)
  @IsInt({ message: 'limit debe ser un entero entre 1 y 100' })
  @Min(1, { message: 'limit debe ser un entero entre 1 y 100' })
  @Max(100, { message: 'limit debe ser un entero entre 1 y 100' })
  limit?: number;

  @ApiPropertyOptional({ description: "The previous page's `nextCursor`." })
  @ValidateIf((dto: SessionsQueryDto) => dto.cursor !== undefined)
  @IsString({ message: 'cursor no es válido' })
  @MaxLength(512, { message: 'cursor no es válido' })
  cursor?: string;
}

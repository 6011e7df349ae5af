import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Matches, Max, Min } from 'class-validator';

export const EVENT_ID = /^(0|[1-9]\d{0,17})$/;

export class FeedQueryDto {
  @ApiPropertyOptional({ pattern: EVENT_ID.source, description: "An event's id (`1042`): the events after it. Absent: from the oldest kept." })
  @IsOptional()
  @Matches(EVENT_ID, { message: 'after debe ser el id de un evento' })
  after?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 1000, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'limit debe ser un número entero' })
  @Min(1, { message: 'limit debe estar entre 1 y 1000' })
  @Max(1000, { message: 'limit debe estar entre 1 y 1000' })
  limit?: number;
}

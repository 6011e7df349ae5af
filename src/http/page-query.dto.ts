import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsString, Max, MaxLength, Min, ValidateIf } from 'class-validator';

export class PageQueryDto {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 100, default: 50 })
  @ValidateIf((q: PageQueryDto) => q.limit !== undefined)
  @Type(() => Number)
  @IsInt({ message: 'limit debe ser un entero entre 1 y 100' })
  @Min(1, { message: 'limit debe ser un entero entre 1 y 100' })
  @Max(100, { message: 'limit debe ser un entero entre 1 y 100' })
  limit?: number;

  @ApiPropertyOptional({ description: "The previous page's `nextCursor`." })
  @ValidateIf((q: PageQueryDto) => q.cursor !== undefined)
  @IsString({ message: 'cursor no es válido' })
  @MaxLength(512, { message: 'cursor no es válido' })
  cursor?: string;
}

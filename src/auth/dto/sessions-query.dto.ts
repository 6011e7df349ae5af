import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, ValidateIf } from 'class-validator';
import { PageQueryDto } from '../../http/page-query.dto.js';

export class SessionsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: ['live', 'ended'], default: 'live', description: '`ended`: the ended sessions still kept, with `endedAt` and `endReason`.' })
  @ValidateIf((dto: SessionsQueryDto) => dto.state !== undefined)
  @IsIn(['live', 'ended'], { message: 'state debe ser live o ended' })
  state?: 'live' | 'ended';
}

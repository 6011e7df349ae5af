import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';

export class SessionsQueryDto {
  @ApiPropertyOptional({ enum: ['live', 'ended'], default: 'live', description: '`ended`: the ended sessions still kept, with `endedAt` and `endReason`.' })
  @IsOptional()
  @IsIn(['live', 'ended'], { message: 'state debe ser live o ended' })
  state?: 'live' | 'ended';
}

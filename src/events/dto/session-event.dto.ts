import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { EVENT_ID } from './feed-query.dto.js';

export class SessionEndedDataDto {
  @ApiProperty({ format: 'uuid' })
  sessionId: string;

  @ApiProperty({ format: 'uuid' })
  userId: string;

  @ApiProperty({ example: 'logout', description: 'Why it ended: the session list\'s endReason' })
  reason: string;

  @ApiProperty({ type: 'integer', example: 3, description: 'Grows with every change of the session: a late event never undoes a newer one' })
  version: number;

  @ApiProperty({ format: 'date-time', description: 'The latest expiry of an access token issued for the session: forget it after' })
  denyUntil: Date;
}

export class SessionEventDto {
  @ApiProperty({ pattern: EVENT_ID.source, example: '1042', description: 'Its place in the feed (`after=`) and its Server-Sent Events id' })
  id: string;

  @ApiProperty({ enum: ['session.ended'] })
  type: 'session.ended';

  @ApiProperty({ format: 'date-time', description: 'When the session ended' })
  timestamp: Date;

  @ApiProperty({ type: SessionEndedDataDto })
  data: SessionEndedDataDto;
}

export class FeedPageDto {
  @ApiProperty({ type: [SessionEventDto], description: 'In commit order' })
  events: SessionEventDto[];

  @ApiPropertyOptional({ type: String, nullable: true, pattern: EVENT_ID.source, example: '1042', description: 'Where the next page starts (`after=`): the last event\'s id, or the `after` asked for when none came' })
  cursor: string | null;
}

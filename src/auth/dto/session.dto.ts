import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { AMR_VALUES } from '../../sessions/amr.js';
import { END_REASONS } from '../../sessions/end-reason.js';

const LISTED_END_REASONS = [...Object.keys(END_REASONS), 'idle_timeout', 'expired'];

export class DeviceDto {
  @ApiProperty({ type: String, nullable: true, example: 'Firefox' })
  browser: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'Linux' })
  os: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'desktop', description: 'desktop, mobile, tablet, tv, bot' })
  type: string | null;
}

export class SessionDto {
  @ApiProperty({ format: 'uuid', example: '3f0c9a52-6a51-4a3e-9f7c-2f1f5b8f9a10' })
  id: string;

  @ApiProperty({ format: 'date-time', example: '2026-11-20T09:12:00.000Z' })
  createdAt: string;

  @ApiProperty({ format: 'date-time', example: '2026-11-22T10:40:00.000Z', description: 'Recorded at most once a minute.' })
  lastUsedAt: string;

  @ApiProperty({ format: 'date-time', example: '2026-12-20T09:12:00.000Z', description: 'The absolute end; refreshes never move it.' })
  expiresAt: string;

  @ApiProperty({ type: String, nullable: true, example: '203.0.113.7' })
  ip: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0' })
  userAgent: string | null;

  @ApiProperty({ enum: AMR_VALUES, isArray: true, example: ['pwd', 'otp'], description: 'How the session was authenticated (RFC 8176).' })
  amr: string[];

  @ApiProperty({ type: () => DeviceDto, description: 'Read from the user agent; null fields where it does not say.' })
  device: DeviceDto;

  @ApiProperty({ example: true, description: 'Whether it is the session of the bearer token.' })
  current: boolean;

  @ApiPropertyOptional({ format: 'date-time', description: 'Ended sessions only (`?state=ended`).' })
  endedAt?: string;

  @ApiPropertyOptional({ enum: LISTED_END_REASONS, description: 'Ended sessions only (`?state=ended`).' })
  endReason?: string;
}

export class SessionListDto {
  @ApiProperty({ type: [SessionDto] })
  sessions: SessionDto[];

  @ApiPropertyOptional({ description: 'Pass as `cursor` for the next page; absent on the last page.' })
  nextCursor?: string;
}

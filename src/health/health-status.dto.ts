import { ApiProperty } from '@nestjs/swagger';

/** `data` of /health and /health/ready: what was checked, as @nestjs/terminus reports it. */
export class HealthStatusDto {
  @ApiProperty({ example: 'ok' })
  status: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'object', properties: { status: { type: 'string' } } },
    example: { database: { status: 'up' } },
  })
  info: Record<string, { status: string }>;
}

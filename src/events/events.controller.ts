import { Controller, Get, Headers, Query, Res, UseGuards } from '@nestjs/common';
import { ApiBasicAuth, ApiHeader, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CLIENT_AUTH, IntrospectionClientGuard } from '../auth/introspection-client.guard.js';
import { Public } from '../auth/public.decorator.js';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';
import { ApiErrors, ApiSuccess } from '../http/api-responses.decorator.js';
import { ok } from '../http/envelope.js';
import { BASIC } from '../http/swagger.js';
import { EVENT_ID, FeedQueryDto } from './dto/feed-query.dto.js';
import { FeedPageDto } from './dto/session-event.dto.js';
import { EventStreamService } from './event-stream.service.js';
import { SessionEventsRepository } from './session-events.repository.js';

const FEED = 'Eventos de sesión';
const DEFAULT_LIMIT = 100;

@ApiTags('events')
@ApiBasicAuth(BASIC)
@Public()
@UseGuards(IntrospectionClientGuard)
@Controller('events')
export class EventsController {
  constructor(
    private readonly events: SessionEventsRepository,
    private readonly stream: EventStreamService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'The feed: session events in commit order, for catching up', description: CLIENT_AUTH })
  @ApiSuccess(200, FEED, FeedPageDto)
  @ApiErrors(ErrorCode.InvalidRequest, ErrorCode.InvalidClient, ErrorCode.TooManyRequests, ErrorCode.Internal)
  async feed(@Query() { after, limit = DEFAULT_LIMIT }: FeedQueryDto) {
    const events = await this.events.after(BigInt(after ?? 0), limit);
    return ok(FEED, { events, cursor: events.at(-1)?.id ?? after ?? null });
  }

  @Get('stream')
  @ApiOperation({
    summary: 'The stream: session events as they commit (Server-Sent Events)',
    description:
      `${CLIENT_AUTH} ` +
      'Resumes after `Last-Event-ID`; without it, starts with every event whose tokens may still be alive. ' +
      '`event: session.ended` (id, data: the event) and `event: heartbeat` (data: `{ time, lagMs }`) about every 250 ms.',
  })
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'The id of the last event received', schema: { type: 'string', pattern: EVENT_ID.source } })
  @ApiProduces('text/event-stream')
  @ApiResponse({ status: 200, description: 'An event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } })
  @ApiErrors(ErrorCode.InvalidRequest, ErrorCode.InvalidClient, ErrorCode.TooManyRequests)
  async openStream(@Headers('last-event-id') lastEventId: string | undefined, @Res() reply: FastifyReply): Promise<void> {
    if (lastEventId !== undefined && !EVENT_ID.test(lastEventId)) {
      throw new AppException(ErrorCode.InvalidRequest, { errors: ['Last-Event-ID debe ser el id de un evento'] });
    }
    reply.hijack();
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'x-request-id': reply.request.id,
      // Proxies must pass each event on as it comes.
      'x-accel-buffering': 'no',
    });
    // HEAD (which Fastify serves for every GET) gets the headers and nothing to wait for.
    if (reply.request.method === 'HEAD') return void reply.raw.end();
    reply.raw.write('retry: 1000\n\n');
    await this.stream.attach(reply.raw, lastEventId === undefined ? undefined : BigInt(lastEventId));
  }
}

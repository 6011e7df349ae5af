import { Module } from '@nestjs/common';
import { EventStreamService } from './event-stream.service.js';
import { EventsController } from './events.controller.js';
import { SessionEventsRepository } from './session-events.repository.js';

@Module({
  controllers: [EventsController],
  providers: [SessionEventsRepository, EventStreamService],
  exports: [SessionEventsRepository],
})
export class EventsModule {}

import { Module } from '@nestjs/common';
import { OutboxModule } from '../outbox/outbox.module.js';
import { Mailer } from './mailer.js';

@Module({ imports: [OutboxModule], providers: [Mailer] })
export class MailModule {}

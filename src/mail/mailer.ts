import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app.config.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { OutboxRepository } from '../outbox/outbox.repository.js';
import { OutboxWorker, OutcomeUnknown, PermanentFailure } from '../outbox/outbox.worker.js';
import { MailConfig } from './mail.config.js';
import type { MailMessage } from './mail-message.js';
import { classifySmtpFailure, type SmtpError } from './smtp-failure.js';
import { type SmtpOptions, smtpOptions, SmtpSession } from './smtp-session.js';

/** All mail goes to one SMTP server: a slow one holds these slots only; webhooks have their own. */
const CONCURRENCY = { perDestination: 4, total: 4 };
/** A message already handed over (DATA) gets this long for its answer, inside the shutdown's deadline. */
const STOP_GRACE_MS = 3_000;
const STOPPING = 'Cut short: the instance is stopping';

/** Without SMTP_URL outside production, mail goes to the log so a developer can follow the link. */
@Injectable()
export class Mailer implements OnModuleInit {
  private readonly logger = new Logger(Mailer.name);
  private readonly smtp: SmtpOptions | undefined;
  private readonly from: string;
  private readonly domain: string;
  /** A link never goes to the log in production: without SMTP_URL, mail waits in the outbox. */
  private readonly production: boolean;
  private readonly inFlight = new Set<SmtpSession>();
  private stopping = false;

  constructor(
    config: MailConfig,
    app: AppConfig,
    private readonly worker: OutboxWorker,
    private readonly outbox: OutboxRepository,
    private readonly metrics: MetricsService,
  ) {
    this.from = config.MAIL_FROM;
    this.domain = /@([^>\s]+)>?\s*$/.exec(this.from)?.[1] ?? 'localhost';
    this.production = app.NODE_ENV === 'production';
    this.smtp = config.SMTP_URL ? smtpOptions(config.SMTP_URL) : undefined;
  }

  onModuleInit(): void {
    this.worker.handle('mail', {
      deliver: (payload, id) => this.send(payload as unknown as MailMessage, id),
      record: ({ to, subject }) => ({ to, subject }),
      concurrency: CONCURRENCY,
      stop: () => this.stop(),
    });
    this.metrics.readMailBacklogWith(() => this.outbox.counts('mail'));
  }

  /** The row id is in the Message-ID, so a held message can be found in the server's log. */
  async send(mail: MailMessage, id: string): Promise<void> {
    if (!this.smtp) {
      if (this.production) throw new Error('SMTP_URL is not set: the mail waits in the outbox');
      this.logger.log({ to: mail.to, subject: mail.subject, text: mail.text }, 'Mail written to the log (no SMTP_URL)');
      return;
    }
    if (this.stopping) throw new Error(STOPPING);
    const session = new SmtpSession(this.smtp);
    this.inFlight.add(session);
    try {
      await session.send({ ...mail, from: this.from, messageId: `<outbox-${id}@${this.domain}>` }, this.smtp.auth);
    } catch (err) {
      throw this.failure(err as SmtpError, session.dataSent, id);
    } finally {
      this.inFlight.delete(session);
    }
  }

  private failure(err: SmtpError, dataSent: boolean, id: string): Error {
    const kind = classifySmtpFailure(err, { dataSent });
    this.metrics.mailDeliveryFailed(kind);
    const reason = `${kind}: ${err.message ?? String(err)}`;
    const details = { id, class: kind, code: err.code, responseCode: err.responseCode, command: err.command };
    switch (kind) {
      case 'recipient':
        return new PermanentFailure(reason);
      case 'unknown':
        return new OutcomeUnknown(reason);
      case 'sender':
        this.logger.error({ ...details, response: err.response }, 'The SMTP server refuses our mail (login, quota, policy): retried, but someone must act');
        return new Error(reason);
      default:
        return new Error(reason);
    }
  }

  private stop(): void {
    this.stopping = true;
    for (const session of this.inFlight) {
      if (!session.dataSent) session.cut(STOPPING);
      else setTimeout(() => session.cut(STOPPING), STOP_GRACE_MS).unref();
    }
  }
}

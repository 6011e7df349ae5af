import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app.config.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { OutboxRepository } from '../outbox/outbox.repository.js';
import { OutboxWorker, OutcomeUnknown, PermanentFailure } from '../outbox/outbox.worker.js';
import { MailConfig } from './mail.config.js';
import type { MailMessage } from './mail-message.js';
import { classifySmtpFailure, type SmtpError } from './smtp-failure.js';
import { type SmtpOptions, smtpOptions, SmtpSession } from './smtp-session.js';

/**
 * Messages sent at once: all go to the one SMTP server, so a slow server holds these and no
 * more; webhooks have slots of their own (outbox.worker.ts).
 */
const CONCURRENCY = { perDestination: 4, total: 4 };
/**
 * When the instance stops, a message already handed over (DATA) gets this long for the server's
 * answer, inside the shutdown's deadline (stop-on-signals.ts); one not yet handed over is cut at once.
 */
const STOP_GRACE_MS = 3_000;
const STOPPING = 'Cut short: the instance is stopping';

/**
 * Sends the outbox's mail: by SMTP (SMTP_URL, nodemailer), or, without it outside production,
 * into the log, so that a developer can follow the link. In production without it, delivery
 * fails and the mail waits in the outbox, retried, until an instance with SMTP_URL sends it.
 * What a failure means is smtp-failure.ts's: only an address refused for good ends a message;
 * a refusal that is the sending side's fault is retried and alerted on (error log, metric); a
 * message handed over without an answer is held (`unknown`), never sent twice by us.
 */
@Injectable()
export class Mailer implements OnModuleInit {
  private readonly logger = new Logger(Mailer.name);
  private readonly smtp: SmtpOptions | undefined;
  private readonly from: string;
  /** The domain of Message-IDs: MAIL_FROM's. */
  private readonly domain: string;
  /** In production a link never goes to the log: without SMTP_URL, mail waits in the outbox. */
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

  /** `id`: the outbox row's, in the Message-ID, so that a held message can be looked up in the server's log. */
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

  /** What the worker is told of a failed attempt; counted, and logged at error level when someone must act. */
  private failure(err: SmtpError, dataSent: boolean, id: string): Error {
    const kind = classifySmtpFailure(err, { dataSent });
    this.metrics.mailDeliveryFailed(kind);
    const reason = `${kind}: ${err.message ?? String(err)}`;
    const details = { id, class: kind, code: err.code, responseCode: err.responseCode, command: err.command };
    switch (kind) {
      case 'recipient':
        return new PermanentFailure(reason);
      case 'unknown':
        // The worker logs it at error level as it holds the message.
        return new OutcomeUnknown(reason);
      case 'sender':
        this.logger.error({ ...details, response: err.response }, 'The SMTP server refuses our mail (login, quota, policy): retried, but someone must act');
        return new Error(reason);
      default:
        return new Error(reason);
    }
  }

  /** Cut what has not been handed over yet; what has gets STOP_GRACE_MS for its answer. */
  private stop(): void {
    this.stopping = true;
    for (const session of this.inFlight) {
      if (!session.dataSent) session.cut(STOPPING);
      else setTimeout(() => session.cut(STOPPING), STOP_GRACE_MS).unref();
    }
  }
}

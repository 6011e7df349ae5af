import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Env } from '../config/env.validation.js';
import { OutboxWorker, PermanentFailure } from '../outbox/outbox.worker.js';
import type { MailMessage } from './mail-message.js';

/** SMTP_URL as nodemailer's options: smtps:// is TLS from the start, smtp:// upgrades with STARTTLS when offered. */
export function smtpOptions(url: string) {
  const { protocol, hostname, port, username, password } = new URL(url);
  const secure = protocol === 'smtps:';
  return {
    host: hostname,
    port: port ? Number(port) : secure ? 465 : 587,
    secure,
    auth: username ? { user: decodeURIComponent(username), pass: decodeURIComponent(password) } : undefined,
    // Bounded, so that a silent server fails the attempt well inside the outbox's lease.
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  };
}

/**
 * Sends the outbox's mail: by SMTP (SMTP_URL, nodemailer), or, without it outside production,
 * into the log, so that a developer can follow the link. In production without it, delivery
 * fails and the mail waits in the outbox, retried, until an instance with SMTP_URL sends it.
 */
@Injectable()
export class Mailer implements OnModuleInit {
  private readonly logger = new Logger(Mailer.name);
  private readonly transport: Transporter | undefined;
  private readonly from: string;
  /** In production a link never goes to the log: without SMTP_URL, mail waits in the outbox. */
  private readonly production: boolean;

  constructor(
    config: ConfigService<Env, true>,
    private readonly worker: OutboxWorker,
  ) {
    const url = config.get('SMTP_URL', { infer: true });
    this.from = config.get('MAIL_FROM', { infer: true });
    this.production = config.get('NODE_ENV', { infer: true }) === 'production';
    this.transport = url ? nodemailer.createTransport(smtpOptions(url)) : undefined;
  }

  onModuleInit(): void {
    this.worker.handle('mail', {
      deliver: (payload) => this.send(payload as unknown as MailMessage),
      record: ({ to, subject }) => ({ to, subject }),
    });
  }

  async send(mail: MailMessage): Promise<void> {
    if (!this.transport) {
      if (this.production) throw new Error('SMTP_URL is not set: the mail waits in the outbox');
      this.logger.log({ to: mail.to, subject: mail.subject, text: mail.text }, 'Mail written to the log (no SMTP_URL)');
      return;
    }
    try {
      await this.transport.sendMail({ from: this.from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html });
    } catch (err) {
      // 5xx: the server refused this message for good (no such mailbox); anything else may pass later.
      const code = (err as { responseCode?: number }).responseCode;
      if (code !== undefined && code >= 500) throw new PermanentFailure(`SMTP ${code}`);
      throw err;
    }
  }
}

import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

// A real SMTP server (smtp-server, by nodemailer's authors) that keeps what it receives, parsed.

export interface ReceivedMail {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** The first link of the text part. */
  link: string | undefined;
}

export interface SmtpSink {
  url: string;
  port: number;
  mails: ReceivedMail[];
  /** Resolves with the first mail to `to` (of that subject; the one after `after` such mails) that arrives. */
  next(to: string, options?: { subject?: string; timeoutMs?: number; after?: number }): Promise<ReceivedMail>;
  mailsTo(to: string, subject?: string): ReceivedMail[];
  close(): Promise<void>;
}

export async function startSmtpSink(port = 0): Promise<SmtpSink> {
  const mails: ReceivedMail[] = [];
  const waiting = new Set<() => void>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          const text = parsed.text ?? '';
          const to = Array.isArray(parsed.to) ? parsed.to[0]?.text : parsed.to?.text;
          mails.push({ to: to ?? '', subject: parsed.subject ?? '', text, html: typeof parsed.html === 'string' ? parsed.html : '', link: text.match(/https?:\/\/\S+/)?.[0] });
          for (const wake of waiting) wake();
          callback();
        })
        .catch(callback);
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.server.address() as AddressInfo).port;
  const mailsTo = (to: string, subject?: string) => mails.filter((mail) => mail.to === to && (subject === undefined || mail.subject === subject));
  return {
    url: `smtp://127.0.0.1:${bound}`,
    port: bound,
    mails,
    mailsTo,
    next: (to, { subject, timeoutMs = 10_000, after = 0 } = {}) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = mailsTo(to, subject)[after];
          if (!found) return;
          clearTimeout(timer);
          waiting.delete(check);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiting.delete(check);
          reject(new Error(`no mail to ${to} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiting.add(check);
        check();
      }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

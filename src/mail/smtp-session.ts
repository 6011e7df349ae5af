import { Readable } from 'node:stream';
import MailComposer from 'nodemailer/lib/mail-composer';
import SMTPConnection from 'nodemailer/lib/smtp-connection';

/** smtps:// is TLS from the start; smtp:// upgrades with STARTTLS when offered. */
export function smtpOptions(url: string) {
  const { protocol, hostname, port, username, password } = new URL(url);
  const secure = protocol === 'smtps:';
  return {
    host: hostname,
    port: port ? Number(port) : secure ? 465 : 587,
    secure,
    auth: username ? { user: decodeURIComponent(username), pass: decodeURIComponent(password) } : undefined,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    // RFC 5321 4.5.3.2.6's 10 minutes for the final dot: a shorter wait gave up on messages the server then accepted.
    socketTimeout: 600_000,
  };
}

export type SmtpOptions = ReturnType<typeof smtpOptions>;

export interface Mail {
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  messageId: string;
}

/** `dataSent`: whether a failed message may have reached the server. SMTPConnection, as the transport reports a timeout after DATA like one before. */
export class SmtpSession {
  dataSent = false;
  private readonly connection: SMTPConnection;
  private fail: ((err: Error) => void) | undefined;

  constructor(options: SmtpOptions) {
    this.connection = new SMTPConnection(options);
    // Errors reach the callbacks too; an 'error' event without a listener would throw.
    this.connection.on('error', () => undefined);
  }

  async send(mail: Mail, auth: SmtpOptions['auth']): Promise<void> {
    const node = new MailComposer({ ...mail }).compile();
    const raw = await node.build();
    const envelope = node.getEnvelope();
    const message = new Readable({
      read: () => {
        if (this.dataSent) return;
        this.dataSent = true;
        message.push(raw);
        message.push(null);
      },
    });
    try {
      await new Promise<void>((resolve, reject) => {
        this.fail = reject;
        // A connection's failure is emitted before its close; its error says more than 'end'.
        this.connection.once('error', reject);
        // close() (ours, or a failure's) forgets the callbacks in flight: 'end' settles them.
        this.connection.once('end', () => reject(new Error('Connection closed before the server answered')));
        this.connection.connect((err) => {
          if (err) return reject(err);
          const send = () => this.connection.send(envelope, message, (e) => (e ? reject(e) : resolve()));
          if (!auth || !this.connection.allowsAuth) return send();
          this.connection.login(auth, (e) => (e ? reject(e) : send()));
        });
      });
      this.connection.quit();
    } finally {
      this.connection.close();
    }
  }

  cut(reason: string): void {
    this.fail?.(new Error(reason));
    this.connection.close();
  }
}

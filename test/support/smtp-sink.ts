import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

// A real SMTP server (smtp-server, by nodemailer's authors) that keeps what it receives, parsed,
// and answers as a test tells it to: a refused login, an address, a quota, a message, a late answer.

export interface ReceivedMail {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** The first link of the text part. */
  link: string | undefined;
}

/**
 * How the sink answers from now on; each reply is an SMTP reply such as `550 5.1.1 User unknown`.
 * Unset: accepted at once.
 */
export interface SmtpBehaviour {
  /** AUTH (clients send it when their SMTP_URL has credentials). */
  auth?: string;
  mailFrom?: string;
  rcptTo?: string;
  /** The answer to the message (after its final dot); the message is kept only when accepted. */
  data?: string;
  /** Milliseconds before answering MAIL FROM. */
  mailFromDelayMs?: number;
  /**
   * Milliseconds before answering the message. It is kept (accepted) then, whether the client
   * still waits or not: as a real server commits a message whose answer the client never read.
   */
  dataDelayMs?: number;
}

export interface SmtpSink {
  url: string;
  port: number;
  mails: ReceivedMail[];
  /** Resolves with the first mail to `to` (of that subject; the one after `after` such mails) that arrives. */
  next(to: string, options?: { subject?: string; timeoutMs?: number; after?: number }): Promise<ReceivedMail>;
  mailsTo(to: string, subject?: string): ReceivedMail[];
  /** Answers so from now on (replacing what an earlier call set). */
  behave(behaviour: SmtpBehaviour): void;
  /** How many MAIL FROM commands arrived (whatever the answer): a client is sending. */
  mailFromReceived(): number;
  /** How many messages to `to` arrived whole (whatever the answer). */
  dataReceived(to: string): number;
  close(): Promise<void>;
}

export async function startSmtpSink(port = 0): Promise<SmtpSink> {
  const mails: ReceivedMail[] = [];
  const waiting = new Set<() => void>();
  let behaviour: SmtpBehaviour = {};
  const dataReceived: string[] = [];
  let mailFromReceived = 0;
  const delays = new Set<NodeJS.Timeout>();
  const later = (ms: number | undefined, fn: () => void) => {
    if (!ms) return fn();
    const timer = setTimeout(() => {
      delays.delete(timer);
      fn();
    }, ms);
    delays.add(timer);
  };
  const server = new SMTPServer({
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(_auth, _session, callback) {
      const refusal = refusalOf(behaviour.auth);
      callback(refusal ?? null, refusal ? undefined : { user: 'sender' });
    },
    onMailFrom(_address, _session, callback) {
      mailFromReceived++;
      const refusal = refusalOf(behaviour.mailFrom);
      later(behaviour.mailFromDelayMs, () => callback(refusal));
    },
    onRcptTo(_address, _session, callback) {
      callback(refusalOf(behaviour.rcptTo));
    },
    onData(stream, session, callback) {
      dataReceived.push(...session.envelope.rcptTo.map((r) => r.address));
      const { data, dataDelayMs } = behaviour;
      simpleParser(stream)
        .then((parsed) => {
          const refusal = refusalOf(data);
          later(dataDelayMs, () => {
            if (!refusal) {
              const text = parsed.text ?? '';
              const to = Array.isArray(parsed.to) ? parsed.to[0]?.text : parsed.to?.text;
              mails.push({ to: to ?? '', subject: parsed.subject ?? '', text, html: typeof parsed.html === 'string' ? parsed.html : '', link: text.match(/https?:\/\/\S+/)?.[0] });
              for (const wake of waiting) wake();
            }
            callback(refusal);
          });
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
    behave: (next) => void (behaviour = next),
    mailFromReceived: () => mailFromReceived,
    dataReceived: (to) => dataReceived.filter((address) => address === to).length,
    close: () => {
      for (const timer of delays) clearTimeout(timer);
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** `550 5.1.1 User unknown` as smtp-server takes a refusal: an error with the code apart. */
function refusalOf(reply: string | undefined): (Error & { responseCode: number }) | null {
  if (!reply) return null;
  const [, code, text] = /^(\d{3}) (.*)$/.exec(reply)!;
  return Object.assign(new Error(text), { responseCode: Number(code) });
}

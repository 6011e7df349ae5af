/**
 * What a failed SMTP attempt means for the message, read from nodemailer's error:
 * - `transient`: 4xx, a connection that failed or timed out before the message was handed over:
 *   retried.
 * - `sender`: a 5xx that says this server, its account or its limits are at fault, not the
 *   address: a refused login (535, EAUTH), a quota (5.2.x, 5.3.x, 5.4.x), a policy (5.7.x), a
 *   transaction that failed for the whole message (554), a 5xx without an enhanced code. Retried
 *   with backoff, and an alert: every mail fails so until someone fixes it.
 * - `recipient`: the address is refused for good (5.1.x but the sender's own 5.1.7/5.1.8, or
 *   550/551/553 to RCPT TO from a server without enhanced codes): the message ends (`dead`).
 * - `unknown`: the message was handed over (DATA) and no answer came: it may have been
 *   accepted, so it is not sent again by itself.
 */
export type SmtpFailureClass = 'transient' | 'sender' | 'recipient' | 'unknown';

/** The fields nodemailer's SMTP errors carry. */
export interface SmtpError {
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
  message?: string;
}

/** RFC 3463's class.subject.detail, at the start of the reply text after the basic code. */
const ENHANCED = /^\d{3}[ -]([245])\.(\d{1,3})\.(\d{1,3})\b/;

/** 5.1.7 and 5.1.8 are about the sender's own address. */
const SENDER_ADDRESS_DETAILS = new Set([7, 8]);

export function classifySmtpFailure(err: SmtpError, { dataSent }: { dataSent: boolean }): SmtpFailureClass {
  const code = err.responseCode;
  if (!code) {
    if (dataSent) return 'unknown';
    if (err.code === 'EAUTH') return 'sender';
    // nodemailer refused an address before asking the server.
    if (err.code === 'EENVELOPE') return /sender/i.test(err.message ?? '') ? 'sender' : 'recipient';
    return 'transient';
  }
  // 2xx/3xx where another answer was due, 503 (bad sequence: this session's state), 4xx: a new attempt may pass.
  if (code < 500 || code === 503) return 'transient';
  const enhanced = ENHANCED.exec(err.response ?? '');
  if (enhanced) {
    const [, , subject, detail] = enhanced;
    return subject === '1' && !SENDER_ADDRESS_DETAILS.has(Number(detail)) ? 'recipient' : 'sender';
  }
  return err.command === 'RCPT TO' && [550, 551, 553].includes(code) ? 'recipient' : 'sender';
}

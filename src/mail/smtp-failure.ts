// transient: retried; sender: retried and alerted (every mail fails until someone acts); recipient: dead; unknown: held, it may have been accepted.
export type SmtpFailureClass = 'transient' | 'sender' | 'recipient' | 'unknown';

export interface SmtpError {
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
  message?: string;
}

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

import { describe, expect, it } from 'vitest';
import { classifySmtpFailure, type SmtpError } from './smtp-failure.js';

const refused = (response: string, command: string, code = command === 'DATA' ? 'EMESSAGE' : 'EENVELOPE'): SmtpError => ({
  code,
  command,
  response,
  responseCode: Number(response.slice(0, 3)),
  message: `Failed: ${response}`,
});
const before = { dataSent: false };
const after = { dataSent: true };

describe('what a failed SMTP attempt means for the message', () => {
  it('ends the message only for an address refused for good', () => {
    expect(classifySmtpFailure(refused('550 5.1.1 <x@example.com>: Recipient address rejected: User unknown', 'RCPT TO'), before)).toBe('recipient');
    expect(classifySmtpFailure(refused('550 5.1.2 Bad destination system address', 'RCPT TO'), before)).toBe('recipient');
    expect(classifySmtpFailure(refused('553 5.1.3 Bad destination mailbox address syntax', 'RCPT TO'), before)).toBe('recipient');
    // Some servers refuse the recipient only once they have the message.
    expect(classifySmtpFailure(refused('550 5.1.1 No such user', 'DATA'), after)).toBe('recipient');
    // A server without enhanced codes: RFC 5321's meanings of 550, 551 and 553 to RCPT TO.
    expect(classifySmtpFailure(refused('550 No such user here', 'RCPT TO'), before)).toBe('recipient');
    expect(classifySmtpFailure(refused('551 User not local', 'RCPT TO'), before)).toBe('recipient');
    // nodemailer refused the address itself.
    expect(classifySmtpFailure({ code: 'EENVELOPE', command: 'API', message: 'Invalid recipient "a@@b"' }, before)).toBe('recipient');
  });

  it('keeps, and alerts on, a refusal that is the sending side’s: login, quota, policy, whole transaction', () => {
    expect(classifySmtpFailure({ ...refused('535 5.7.8 Error: authentication failed', 'AUTH PLAIN'), code: 'EAUTH' }, before)).toBe('sender');
    expect(classifySmtpFailure({ code: 'EAUTH', command: 'API', message: 'Missing credentials for "PLAIN"' }, before)).toBe('sender');
    expect(classifySmtpFailure(refused('550 5.4.5 Daily user sending quota exceeded', 'MAIL FROM'), before)).toBe('sender');
    expect(classifySmtpFailure(refused('552 5.2.2 Mailbox full', 'RCPT TO'), before)).toBe('sender');
    expect(classifySmtpFailure(refused('552 5.3.4 Message size exceeds fixed limit', 'DATA'), after)).toBe('sender');
    expect(classifySmtpFailure(refused('554 5.7.1 Relay access denied', 'RCPT TO'), before)).toBe('sender');
    expect(classifySmtpFailure(refused('550 5.7.1 Message rejected as spam', 'DATA'), after)).toBe('sender');
    expect(classifySmtpFailure(refused('554 Transaction failed', 'DATA'), after)).toBe('sender');
    expect(classifySmtpFailure(refused('550 5.1.7 Bad sender mailbox address syntax', 'MAIL FROM'), before)).toBe('sender');
    expect(classifySmtpFailure(refused('550 Sender rejected', 'MAIL FROM'), before)).toBe('sender');
    expect(classifySmtpFailure({ code: 'EENVELOPE', command: 'API', message: 'Invalid sender "no-reply@"' }, before)).toBe('sender');
  });

  it('retries what may pass later: 4xx, 503, a connection that failed before the message left', () => {
    expect(classifySmtpFailure(refused('451 4.3.0 Temporary lookup failure', 'RCPT TO'), before)).toBe('transient');
    expect(classifySmtpFailure(refused('421 4.7.0 Try again later', 'DATA'), after)).toBe('transient');
    expect(classifySmtpFailure(refused('452 4.2.2 Mailbox full, try later', 'DATA'), after)).toBe('transient');
    expect(classifySmtpFailure(refused('503 5.5.1 Bad sequence of commands', 'RCPT TO'), before)).toBe('transient');
    expect(classifySmtpFailure({ code: 'ECONNECTION', command: 'CONN', message: 'connect ECONNREFUSED 127.0.0.1:25' }, before)).toBe('transient');
    expect(classifySmtpFailure({ code: 'ETIMEDOUT', command: 'CONN', message: 'Greeting never received' }, before)).toBe('transient');
  });

  it('holds a message handed over without an answer: it may have been accepted', () => {
    expect(classifySmtpFailure({ code: 'ETIMEDOUT', command: 'CONN', message: 'Timeout' }, after)).toBe('unknown');
    expect(classifySmtpFailure({ code: 'ECONNECTION', command: 'CONN', message: 'Connection closed unexpectedly' }, after)).toBe('unknown');
    expect(classifySmtpFailure({ message: 'Cut short: the instance is stopping' }, after)).toBe('unknown');
  });
});

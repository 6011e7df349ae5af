import { randomUUID } from 'node:crypto';
import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { ERRORS, ErrorCode } from '../errors/error-code.js';

// What Node's HTTP parser rejects never reaches Fastify or the filter: the envelope is written to the socket here.
type HttpSocket = Duplex & {
  _httpMessage?: { headersSent: boolean; req?: IncomingMessage & { id?: string } } | null;
  parser?: { incoming?: IncomingMessage | null } | null;
};

export function answerClientError(err: Error & { code?: string; rawPacket?: unknown }, socket: HttpSocket): void {
  const current = socket._httpMessage;
  // Answered already (its body never came): a second response would be read as garbage.
  const answered = current ? current.headersSent : socket.parser?.incoming?.complete === false;
  if (!socket.writable || answered) return void socket.destroy();
  const { status, body } = clientErrorAnswer(err.code);
  const text = JSON.stringify(body);
  // A body after a HEAD answer's headers would be read as a broken response.
  const head =
    current?.req?.method === 'HEAD' ||
    (Buffer.isBuffer(err.rawPacket) && err.rawPacket.subarray(0, 5).toString('latin1') === 'HEAD ');
  socket.end(
    [
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}`,
      'Content-Type: application/json; charset=utf-8',
      `Content-Length: ${Buffer.byteLength(text)}`,
      'Cache-Control: no-store',
      'X-Content-Type-Options: nosniff',
      "Content-Security-Policy: default-src 'none'",
      'X-Frame-Options: SAMEORIGIN',
      'Referrer-Policy: no-referrer',
      `X-Request-Id: ${current?.req?.id ?? randomUUID()}`,
      'Connection: close',
      '',
      head ? '' : text,
    ].join('\r\n'),
  );
}

function clientErrorAnswer(code: string | undefined): { status: number; body: object } {
  const envelope = (errorCode: ErrorCode, errors?: string[]) => ({
    status: ERRORS[errorCode].status,
    body: { success: false, message: ERRORS[errorCode].message, ...(errors && { errors }) },
  });
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return { ...envelope(ErrorCode.PayloadTooLarge), status: 431 };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return envelope(ErrorCode.RequestTimeout);
    default:
      return envelope(ErrorCode.InvalidRequest, ['La solicitud HTTP está mal formada']);
  }
}

import { randomUUID } from 'node:crypto';
import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { ERRORS, ErrorCode } from '../errors/error-code.js';

/**
 * Requests Node's HTTP parser rejects (oversized headers, malformed HTTP, a request too slow to
 * arrive) never reach Fastify's router or the exception filter; they still get an envelope, not
 * Fastify's own wording, written straight to the socket.
 */
type HttpSocket = Duplex & {
  /** The response to the request being read, from its headers until it is sent (Node's own handler reads it too). */
  _httpMessage?: { headersSent: boolean; req?: IncomingMessage & { id?: string } } | null;
  /** The last request whose headers were read. */
  parser?: { incoming?: IncomingMessage | null } | null;
};

/** Fastify's `clientErrorHandler`. */
export function answerClientError(err: Error & { code?: string; rawPacket?: unknown }, socket: HttpSocket): void {
  const current = socket._httpMessage;
  // Answered already, but the body it announced never came (a HEAD with a Content-Length): a
  // second, unsolicited response would be read as garbage, so the connection just closes.
  const answered = current ? current.headersSent : socket.parser?.incoming?.complete === false;
  if (!socket.writable || answered) return void socket.destroy();
  const { status, body } = clientErrorAnswer(err.code);
  const text = JSON.stringify(body);
  // An answer to HEAD has headers only; a body after them would be read as a broken response.
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

import type { Receiver } from '../receiver.js';
import type { ReceiverClaims } from '../result.js';
import { refusalOf } from './refusal.js';

/** What the hook uses of Fastify's request. */
export interface FastifyRequestLike {
  headers: { authorization?: string | undefined };
  auth?: ReceiverClaims | null;
}

/** What the hook uses of Fastify's reply. */
export interface FastifyReplyLike {
  code(statusCode: number): FastifyReplyLike;
  headers(values: Record<string, string>): FastifyReplyLike;
  send(payload?: unknown): FastifyReplyLike;
}

/**
 * An async `onRequest` (or `preHandler`) hook: sets `request.auth` to the token's claims, or sends
 * the refusal and returns the reply, which ends the request there.
 */
export function receiverHook(receiver: Receiver) {
  return async (request: FastifyRequestLike, reply: FastifyReplyLike): Promise<FastifyReplyLike | undefined> => {
    const result = await receiver.authenticate(request.headers.authorization);
    if (result.ok) {
      request.auth = result.claims;
      return undefined;
    }
    const { status, headers, body } = refusalOf(result.reason);
    return reply.code(status).headers(headers).send(body);
  };
}

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

/** Returns the reply it sent a refusal on: that ends the request in an async hook. */
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

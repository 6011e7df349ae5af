import type { Receiver } from '../receiver.js';
import type { ReceiverClaims } from '../result.js';
import { refuse, type NodeResponseLike } from './node.adapter.js';

/** What the middleware uses of Express' request. */
export interface ExpressRequestLike {
  headers: { authorization?: string | undefined };
  auth?: ReceiverClaims;
}

/**
 * Express middleware: sets `req.auth` to the token's claims and calls `next()`, or answers the
 * refusal. Errors go to `next(err)`, which Express 4 needs for a promise.
 */
export function receiverMiddleware(receiver: Receiver) {
  return (req: ExpressRequestLike, res: NodeResponseLike, next: (err?: unknown) => void): void => {
    receiver.authenticate(req.headers.authorization).then((result) => {
      if (!result.ok) return refuse(res, result);
      req.auth = result.claims;
      next();
    }, next);
  };
}

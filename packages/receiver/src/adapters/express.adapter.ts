import type { Receiver } from '../receiver.js';
import type { ReceiverClaims } from '../result.js';
import { refuse, type NodeResponseLike } from './node.adapter.js';

/** What the middleware uses of Express' request. */
export interface ExpressRequestLike {
  headers: { authorization?: string | undefined };
  auth?: ReceiverClaims;
}

/** Errors go to `next(err)`: Express 4 does not catch a rejected promise. */
export function receiverMiddleware(receiver: Receiver) {
  return (req: ExpressRequestLike, res: NodeResponseLike, next: (err?: unknown) => void): void => {
    receiver.authenticate(req.headers.authorization).then((result) => {
      if (!result.ok) return refuse(res, result);
      req.auth = result.claims;
      next();
    }, next);
  };
}

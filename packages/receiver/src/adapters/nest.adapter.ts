import type { Receiver } from '../receiver.js';
import type { ReceiverClaims } from '../result.js';
import { refusalOf, type Refusal } from './refusal.js';

/** What the guard uses of Nest's ExecutionContext. */
export interface ExecutionContextLike {
  switchToHttp(): { getRequest<T = unknown>(): T; getResponse<T = unknown>(): T };
}

interface RequestLike {
  headers: { authorization?: string | undefined };
  auth?: ReceiverClaims;
}

/** Fastify's reply and Express' response both have `header(name, value)`; node:http's has `setHeader`. */
interface ResponseLike {
  header?(name: string, value: string): unknown;
  setHeader?(name: string, value: string): unknown;
}

/** With Nest: `(refusal) => new HttpException(refusal.body, refusal.status)`. */
export type RefusalToException = (refusal: Refusal) => unknown;

/** Structurally `CanActivate`: without `@nestjs/common` here, the application says which exception to throw. */
export class ReceiverGuard {
  constructor(
    private readonly receiver: Receiver,
    private readonly toException: RefusalToException,
  ) {}

  async canActivate(context: ExecutionContextLike): Promise<boolean> {
    const http = context.switchToHttp();
    const request = http.getRequest<RequestLike>();
    const result = await this.receiver.authenticate(request.headers.authorization);
    if (result.ok) {
      request.auth = result.claims;
      return true;
    }
    const refusal = refusalOf(result.reason);
    const response = http.getResponse<ResponseLike>();
    for (const [name, value] of Object.entries(refusal.headers)) {
      if (typeof response.header === 'function') response.header(name, value);
      else response.setHeader?.(name, value);
    }
    throw this.toException(refusal);
  }
}

export function createReceiverGuard(receiver: Receiver, toException: RefusalToException): ReceiverGuard {
  return new ReceiverGuard(receiver, toException);
}

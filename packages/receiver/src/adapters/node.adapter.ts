import type { Refused } from '../result.js';
import { refusalOf } from './refusal.js';

/** What `refuse` uses of node:http's ServerResponse (Express' response is one too). */
export interface NodeResponseLike {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(body: string): unknown;
}

/**
 * Answers a refused request: 401, 403 or 503 with the auth server's JSON envelope.
 * `const result = await receiver.authenticate(req.headers.authorization); if (!result.ok) return refuse(res, result);`
 */
export function refuse(res: NodeResponseLike, result: Refused): void {
  const { status, headers, body } = refusalOf(result.reason);
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
}

import type { Refused } from '../result.js';
import { refusalOf } from './refusal.js';

/** What `refuse` uses of node:http's ServerResponse (Express' response is one too). */
export interface NodeResponseLike {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(body: string): unknown;
}

export function refuse(res: NodeResponseLike, result: Refused): void {
  const { status, headers, body } = refusalOf(result.reason);
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
}

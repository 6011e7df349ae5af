/** Who sent a request, as session and audit rows record it. */
export interface Requester {
  /** Null when what a trusted proxy forwarded is not an address. */
  ip: string | null;
  userAgent: string | null;
  requestId: string;
}

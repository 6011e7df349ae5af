import { InitialSchema1763700000000 } from './1763700000000-initial-schema.js';
import { NormalizeEmails1763800000000 } from './1763800000000-normalize-emails.js';
import { SessionControl1763900000000 } from './1763900000000-session-control.js';
import { UserRoles1764000000000 } from './1764000000000-user-roles.js';
import { Accounts1765000000000 } from './1765000000000-accounts.js';
import { SessionEvents1766000000000 } from './1766000000000-session-events.js';
import { Webhooks1766000000001 } from './1766000000001-webhooks.js';
import { SessionEpoch1767000000000 } from './1767000000000-session-epoch.js';
import { OutboxDelivery1767000000001 } from './1767000000001-outbox-delivery.js';
import { SecondFactors1768000000000 } from './1768000000000-second-factors.js';

/** Listed explicitly (not globbed) so the same list works compiled, under vitest and in the CLI. */
export const MIGRATIONS = [
  InitialSchema1763700000000,
  NormalizeEmails1763800000000,
  SessionControl1763900000000,
  UserRoles1764000000000,
  Accounts1765000000000,
  SessionEvents1766000000000,
  Webhooks1766000000001,
  SessionEpoch1767000000000,
  OutboxDelivery1767000000001,
  SecondFactors1768000000000,
];

import { AccountToken } from '../accounts/account-token.entity.js';
import { AuditEvent } from '../audit/audit-event.entity.js';
import { FactorRow } from '../factors/factor.entity.js';
import { MfaChallengeRow } from '../factors/mfa-challenge.entity.js';
import { RecoveryCodeRow } from '../factors/recovery-code.entity.js';
import { SessionEvent } from '../events/session-event.entity.js';
import { OutboxMessage } from '../outbox/outbox-message.entity.js';
import { Session } from '../sessions/session.entity.js';
import { User } from '../users/user.entity.js';
import { WebhookEndpointRow } from '../webhooks/webhook-endpoint.entity.js';

export const ENTITIES = [User, Session, AuditEvent, AccountToken, OutboxMessage, SessionEvent, WebhookEndpointRow, FactorRow, RecoveryCodeRow, MfaChallengeRow];

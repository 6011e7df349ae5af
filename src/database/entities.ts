import { AuditEvent } from '../audit/audit-event.entity.js';
import { Session } from '../sessions/session.entity.js';
import { User } from '../users/user.entity.js';

export const ENTITIES = [User, Session, AuditEvent];

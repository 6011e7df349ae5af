import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** The table's shape for TypeORM's migration generator only: no query goes through it. */
@Entity('session_events')
@Index('IDX_session_events_deny_until', ['denyUntil'])
@Index('IDX_session_events_created_at', ['createdAt'])
export class SessionEvent {
  /** The feed's cursor: taken in commit order. */
  @PrimaryGeneratedColumn('increment', { type: 'bigint', primaryKeyConstraintName: 'PK_session_events' })
  id: string;

  @Column({ name: 'session_id', type: 'uuid' })
  sessionId: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @Column({ type: 'varchar', length: 32 })
  reason: string;

  @Column({ type: 'integer' })
  version: number;

  /** The latest expiry of an access token issued for the session: receivers forget it after. */
  @Column({ name: 'deny_until', type: 'timestamptz' })
  denyUntil: Date;

  /** When the session ended. */
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}

import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** The table's shape for TypeORM's migration generator only: no query goes through it. */
@Entity('session_events')
@Index('IDX_session_events_deny_until', ['denyUntil'])
@Index('IDX_session_events_created_at', ['createdAt'])
export class SessionEvent {
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

  @Column({ name: 'deny_until', type: 'timestamptz' })
  denyUntil: Date;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}

import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { Session } from '../sessions/session.entity.js';
import { User } from '../users/user.entity.js';

/** The table's shape for TypeORM's migration generator only: no query goes through it. */
@Entity('mfa_challenges')
@Unique('UQ_mfa_challenges_secret_hash', ['secretHash'])
@Unique('UQ_mfa_challenges_challenge', ['challenge'])
@Index('IDX_mfa_challenges_expires_at', ['expiresAt'])
export class MfaChallengeRow {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'PK_mfa_challenges' })
  id: string;

  @Column({ type: 'varchar', length: 32 })
  kind: string;

  @Column({ name: 'user_id', type: 'uuid', nullable: true })
  userId: string | null;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'FK_mfa_challenges_user' })
  user?: User;

  @Column({ name: 'session_id', type: 'uuid', nullable: true })
  sessionId: string | null;

  @ManyToOne(() => Session, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'session_id', foreignKeyConstraintName: 'FK_mfa_challenges_session' })
  session?: Session;

  @Column({ name: 'secret_hash', type: 'bytea', nullable: true })
  secretHash: Buffer | null;

  @Column({ type: 'varchar', length: 128, nullable: true })
  challenge: string | null;

  @Column({ name: 'session_epoch', type: 'integer', nullable: true })
  sessionEpoch: number | null;

  @Column({ type: 'integer', default: 0 })
  attempts: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;
}

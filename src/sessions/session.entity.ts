import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { User } from '../users/user.entity.js';

@Entity('sessions')
@Index('IDX_sessions_user_id', ['userId'])
@Index('IDX_sessions_expires_at', ['expiresAt'])
export class Session {
  /** The `sid` claim of the access tokens issued for this session. */
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'PK_sessions' })
  id: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'FK_sessions_user' })
  user?: User;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  /** The absolute end (SESSION_MAX_TTL after login); refreshes never move it. */
  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  /** Written at most once a minute: the idle timeout counts from here. */
  @Column({ name: 'last_used_at', type: 'timestamptz', default: () => 'now()' })
  lastUsedAt: Date;

  /** Null while the session is live; set once, when someone ends it. The row is kept until retention deletes it. */
  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt: Date | null;

  /** Why it was ended (logout, logout_others, …); null while live or when it simply ran out. */
  @Column({ name: 'ended_reason', type: 'varchar', length: 32, nullable: true })
  endedReason: string | null;

  /** SHA-256 of the current refresh token's secret; never the token. */
  @Column({ name: 'refresh_token_hash', type: 'bytea', nullable: true })
  refreshTokenHash: Buffer | null;

  /** SHA-256 of the one it replaced, for a retry within the grace period. */
  @Column({ name: 'previous_refresh_token_hash', type: 'bytea', nullable: true })
  previousRefreshTokenHash: Buffer | null;

  /** How many times the refresh token was rotated; a token carries the generation it belongs to. */
  @Column({ name: 'refresh_generation', type: 'integer', default: 0 })
  refreshGeneration: number;

  @Column({ name: 'refreshed_at', type: 'timestamptz', nullable: true })
  refreshedAt: Date | null;

  /** Grows with every change of the session (a refresh, its end): events carry it. */
  @Column({ type: 'integer', default: 1 })
  version: number;

  /** The latest expiry of an access token issued for it; null for sessions older than the column. */
  @Column({ name: 'access_expires_at', type: 'timestamptz', nullable: true })
  accessExpiresAt: Date | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ip: string | null;

  @Column({ name: 'user_agent', type: 'varchar', length: 512, nullable: true })
  userAgent: string | null;
}

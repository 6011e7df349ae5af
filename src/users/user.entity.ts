import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, Unique } from 'typeorm';

@Entity('users')
@Unique('UQ_users_email', ['email'])
export class User {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'PK_users' })
  id: string;

  /** Stored lowercased, so the unique index makes emails case-insensitive. */
  @Column({ type: 'varchar', length: 254 })
  email: string;

  @Column({ name: 'password_hash', type: 'varchar', length: 255, select: false })
  passwordHash: string;

  /** Read by the session lookup of every request, so a change applies from the next one. */
  @Column({ type: 'text', array: true, default: () => "'{}'" })
  roles: string[];

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  /** Set when the user followed the link of a verification mail. */
  @Column({ name: 'email_verified_at', type: 'timestamptz', nullable: true })
  emailVerifiedAt: Date | null;

  /** Set by an operator: no login, no refresh, until unlocked. */
  @Column({ name: 'locked_at', type: 'timestamptz', nullable: true })
  lockedAt: Date | null;

  /** Advanced by every act that ends all of the user's sessions; a login opens its session only under the epoch it checked the password in. */
  @Column({ name: 'session_epoch', type: 'integer', default: 0 })
  sessionEpoch: number;
}

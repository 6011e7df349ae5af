import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { User } from '../users/user.entity.js';

/** The table's shape for TypeORM's migration generator only: no query goes through it. */
@Entity('mfa_factors')
@Check('CHK_mfa_factors_type', `"type" IN ('totp', 'webauthn')`)
@Unique('UQ_mfa_factors_credential_id', ['credentialId'])
@Index('IDX_mfa_factors_user_id', ['userId'])
export class FactorRow {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'PK_mfa_factors' })
  id: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'FK_mfa_factors_user' })
  user?: User;

  @Column({ type: 'varchar', length: 16 })
  type: string;

  @Column({ type: 'varchar', length: 64 })
  name: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  /** Null while a TOTP factor waits for its first code. */
  @Column({ name: 'confirmed_at', type: 'timestamptz', nullable: true })
  confirmedAt: Date | null;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt: Date | null;

  @Column({ name: 'totp_secret', type: 'bytea', nullable: true })
  totpSecret: Buffer | null;

  @Column({ name: 'totp_last_step', type: 'bigint', nullable: true })
  totpLastStep: string | null;

  @Column({ name: 'credential_id', type: 'varchar', length: 1400, nullable: true })
  credentialId: string | null;

  @Column({ name: 'public_key', type: 'bytea', nullable: true })
  publicKey: Buffer | null;

  @Column({ name: 'sign_count', type: 'bigint', nullable: true })
  signCount: string | null;

  @Column({ type: 'text', array: true, nullable: true })
  transports: string[] | null;

  @Column({ name: 'backup_eligible', type: 'boolean', nullable: true })
  backupEligible: boolean | null;

  @Column({ name: 'backed_up', type: 'boolean', nullable: true })
  backedUp: boolean | null;
}

import { Column, CreateDateColumn, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { User } from '../../../src/users/user.entity.js';

// For the migration generator only: queries go through NotesRepository.
@Entity('notes')
@Unique('UQ_notes_user_title', ['userId', 'title'])
export class Note {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'PK_notes' })
  id: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'FK_notes_user' })
  user?: User;

  @Column({ type: 'varchar', length: 100 })
  title: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}

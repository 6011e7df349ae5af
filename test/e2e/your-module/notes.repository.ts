import { Injectable } from '@nestjs/common';
import { Database } from '../../../src/database/database.js';

export interface NoteRow {
  id: string;
  title: string;
}

/** The one writer of `notes`: statements, no decisions. */
@Injectable()
export class NotesRepository {
  constructor(private readonly database: Database) {}

  /** The new note, or undefined when the user has one of that title already. */
  async create(userId: string, title: string): Promise<NoteRow | undefined> {
    const [row] = await this.database.query<NoteRow>(
      'INSERT INTO notes (user_id, title) VALUES ($1, $2) ON CONFLICT (user_id, title) DO NOTHING RETURNING id, title',
      [userId, title],
    );
    return row;
  }

  async findOne(userId: string, id: string): Promise<NoteRow | undefined> {
    const [row] = await this.database.query<NoteRow>('SELECT id, title FROM notes WHERE user_id = $1 AND id = $2', [userId, id]);
    return row;
  }

  async list(userId: string): Promise<NoteRow[]> {
    return this.database.query<NoteRow>('SELECT id, title FROM notes WHERE user_id = $1 ORDER BY created_at, id', [userId]);
  }
}

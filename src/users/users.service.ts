import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { EntityManager, Repository } from 'typeorm';
import { User } from './user.entity.js';

/** The `users.email` column's length, in characters. */
export const MAX_EMAIL_LENGTH = 254;

/**
 * The one spelling of an email that is stored and looked up: Unicode NFC (so `josé` typed
 * composed or decomposed is one account), then lowercase (so comparison is case-insensitive).
 * The request DTOs apply it before validation (so the length checked is the length stored); this
 * service applies it again, for any caller that did not come through a DTO (it is idempotent).
 */
export const normalizeEmail = (email: string): string => email.normalize('NFC').toLowerCase();

@Injectable()
export class UsersService {
  constructor(@InjectRepository(User) private readonly users: Repository<User>) {}

  findById(id: string): Promise<User | null> {
    return this.users.findOneBy({ id });
  }

  /** With the password hash, which is otherwise never selected. */
  findForLogin(email: string): Promise<User | null> {
    return this.users
      .createQueryBuilder('user')
      .addSelect('user.passwordHash')
      .where('user.email = :email', { email: normalizeEmail(email) })
      .getOne();
  }

  /** The password hash of a user, for a password change; null when the user is gone. */
  async passwordHashOf(id: string): Promise<string | null> {
    const user = await this.users.createQueryBuilder('user').addSelect('user.passwordHash').where('user.id = :id', { id }).getOne();
    return user?.passwordHash ?? null;
  }

  /** Inside the caller's transaction, with the sessions it ends. */
  async setPasswordHash(manager: EntityManager, id: string, passwordHash: string): Promise<void> {
    await manager.update(User, { id }, { passwordHash });
  }

  /** Inserts inside the caller's transaction; a duplicate email surfaces as unique violation 23505. */
  async create(manager: EntityManager, email: string, passwordHash: string): Promise<User> {
    const user = manager.create(User, { email: normalizeEmail(email), passwordHash });
    await manager.insert(User, user);
    return user;
  }
}

import { AsyncLocalStorage } from 'node:async_hooks';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool, PoolClient, QueryConfig } from 'pg';
import type { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver.js';
import { EmbeddedPostgres } from './embedded-postgres.js';

/** A statement: its SQL, and a name under which a real PostgreSQL keeps it prepared. */
export interface Statement {
  name: string;
  text: string;
}

/** The pool's counters, for the metrics. */
interface PoolUse {
  total: number;
  idle: number;
  waiting: number;
}

/**
 * The one way to the database: TypeORM's DataSource owns the pool (the only one), and every
 * repository queries through here. Inside `transaction(fn)`, every query made by `fn` (through any
 * repository) runs on the transaction's connection, so services never pass a connection around.
 */
@Injectable()
export class Database {
  private readonly inTransaction = new AsyncLocalStorage<PoolClient>();
  /** Errors thrown inside a transaction that was then rolled back cleanly: not the connection's fault. */
  private readonly soundAfter = new WeakSet<object>();
  /**
   * Named prepared statements only on a real server. The embedded database is one backend behind
   * its socket: statements prepared on a connection the pool closed outlive it there, and
   * preparing them again on the next connection fails (42P05).
   */
  private readonly prepare: boolean;
  private retriedRuns = 0;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    embedded: EmbeddedPostgres,
  ) {
    this.prepare = !embedded.running;
  }

  /** How many connections the pool may open. */
  get poolSize(): number {
    return (this.dataSource.options as { poolSize?: number }).poolSize ?? 10;
  }

  poolUse(): PoolUse | null {
    if (!this.dataSource.isInitialized) return null;
    const { totalCount, idleCount, waitingCount } = this.pool;
    return { total: totalCount, idle: idleCount, waiting: waitingCount };
  }

  private get pool(): Pool {
    return (this.dataSource.driver as PostgresDriver).master as Pool;
  }

  /** The rows of one statement: a string, or a named Statement (kept prepared on a real server). */
  async query<T>(statement: string | Statement, values: unknown[] = []): Promise<T[]> {
    const config: QueryConfig =
      typeof statement === 'string'
        ? { text: statement, values }
        : this.prepare
          ? { name: statement.name, text: statement.text, values }
          : { text: statement.text, values };
    const current = this.inTransaction.getStore();
    // Inside a transaction a failed statement aborts it: the transaction is retried whole.
    if (current) return (await current.query(config)).rows as T[];
    return this.retried(() => this.withClient(async (client) => (await client.query(config)).rows as T[]));
  }

  /**
   * Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. Run
   * again from the start when PostgreSQL chose it as a deadlock's victim or could not serialize
   * it: `fn` must do nothing outside the database that a second run would repeat.
   */
  transaction<T>(fn: () => Promise<T>): Promise<T> {
    if (this.inTransaction.getStore()) return fn();
    return this.retried(() => this.once(fn));
  }

  /** Statements and transactions run again after a deadlock or a serialization failure (a counter, for the metrics). */
  get retries(): number {
    return this.retriedRuns;
  }

  private async retried<T>(run: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await run();
      } catch (err) {
        if (attempt >= ATTEMPTS || !RETRYABLE.has((err as { code?: string } | null)?.code ?? '')) throw err;
        this.retriedRuns++;
        // A short random pause, so that the two sides of a deadlock do not meet again at once.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
      }
    }
  }

  private once<T>(fn: () => Promise<T>): Promise<T> {
    return this.withClient(async (client) => {
      await client.query('BEGIN');
      try {
        const result = await this.inTransaction.run(client, fn);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        // A connection that answered the ROLLBACK is sound, whatever `fn` threw (an application's
        // refusal, most often): it goes back to the pool rather than being closed.
        const rolledBack = await client.query('ROLLBACK').then(
          () => true,
          () => false,
        );
        if (rolledBack && typeof err === 'object' && err !== null) this.soundAfter.add(err);
        throw err;
      }
    });
  }

  /** Whether NOTIFY reaches a listener here: on a real server, not on the embedded one (one connection, shared). */
  get notifies(): boolean {
    return this.prepare;
  }

  /**
   * Calls `onNotify` on every NOTIFY of `channel`, on a connection of the pool kept for it until
   * the returned function is called. `onLost` is called once if that connection fails; the
   * caller listens again when it wants to.
   */
  async listen(channel: string, onNotify: () => void, onLost: (err: Error) => void): Promise<() => void> {
    const client = await this.pool.connect();
    let released = false;
    const release = (err?: Error) => {
      if (released) return;
      released = true;
      client.removeAllListeners('notification');
      client.off('error', lost);
      client.release(err ?? true);
    };
    const lost = (err: Error) => {
      release(err);
      onLost(err);
    };
    client.on('error', lost);
    client.on('notification', (message) => message.channel === channel && onNotify());
    try {
      await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
    } catch (err) {
      release(err as Error);
      throw err;
    }
    // Closed rather than returned: a connection still listening must not serve queries.
    return () => release();
  }

  /**
   * A connection of the pool for `use`. Not pool.query: it closes the connection after any failed
   * statement, and the embedded database, serving one connection, can still be holding the old
   * one when the next arrives; a statement the server refused (it has a severity) leaves the
   * connection fine. A checked-out client has no error listener of the pool's: a connection that
   * drops mid-statement would emit an unhandled 'error' and end the process.
   */
  private async withClient<T>(use: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    const onError = (err: Error) => void (broken = err);
    client.on('error', onError);
    try {
      return await use(client);
    } catch (err) {
      if (!(err as { severity?: string }).severity && !this.soundAfter.has(err as object)) broken = err as Error;
      throw err;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }
}

/**
 * Deadlock victims (40P01) and serialization failures (40001) were rolled back whole and may
 * simply run again: the statements that lock several rows lock them in one order, so this is a
 * last resort, never the answer a client sees.
 */
const RETRYABLE = new Set(['40P01', '40001']);
const ATTEMPTS = 5;

/** PostgreSQL's code for a unique violation. */
const UNIQUE_VIOLATION = '23505';

export const isUniqueViolation = (err: unknown): boolean => (err as { code?: unknown } | null)?.code === UNIQUE_VIOLATION;

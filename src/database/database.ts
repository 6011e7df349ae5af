import { AsyncLocalStorage } from 'node:async_hooks';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool, PoolClient, QueryConfig } from 'pg';
import type { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver.js';
import { EmbeddedPostgres } from './embedded-postgres.js';

/** Named, so that a real server keeps it prepared. */
export interface Statement {
  name: string;
  text: string;
}

interface PoolUse {
  total: number;
  idle: number;
  waiting: number;
}

// Every repository queries through here, so a transaction's queries find its connection themselves.
@Injectable()
export class Database {
  private readonly inTransaction = new AsyncLocalStorage<PoolClient>();
  /** Errors after which the ROLLBACK was answered: not the connection's fault. */
  private readonly soundAfter = new WeakSet<object>();
  /** Not on the embedded database: its one backend outlives the pool's connections, and preparing again fails (42P05). */
  private readonly prepare: boolean;
  private retriedRuns = 0;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    embedded: EmbeddedPostgres,
  ) {
    this.prepare = !embedded.running;
  }

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

  /** Run again whole after a deadlock or a serialization failure: `fn` must do nothing outside the database. */
  transaction<T>(fn: () => Promise<T>): Promise<T> {
    if (this.inTransaction.getStore()) return fn();
    return this.retried(() => this.once(fn));
  }

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
        // Answered ROLLBACK: sound whatever `fn` threw (mostly a refusal), so back to the pool, not closed.
        const rolledBack = await client.query('ROLLBACK').then(
          () => true,
          () => false,
        );
        if (rolledBack && typeof err === 'object' && err !== null) this.soundAfter.add(err);
        throw err;
      }
    });
  }

  /** Not on the embedded database: its one connection is shared, so nobody can sit listening on it. */
  get notifies(): boolean {
    return this.prepare;
  }

  /** `onLost` is called once, if the connection fails: the caller decides whether to listen again. */
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

  // Not pool.query: it closes the connection after any failure, and the embedded server may still hold the old one.
  private async withClient<T>(use: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    // A checked-out client has no listener of the pool's: a drop mid-statement would end the process.
    const onError = (err: Error) => void (broken = err);
    client.on('error', onError);
    try {
      return await use(client);
    } catch (err) {
      // A statement the server refused (it has a severity) leaves the connection fine.
      if (!(err as { severity?: string }).severity && !this.soundAfter.has(err as object)) broken = err as Error;
      throw err;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }
}

/** Deadlock victims and serialization failures, rolled back whole: a last resort, as rows are locked in one order. */
const RETRYABLE = new Set(['40P01', '40001']);
const ATTEMPTS = 5;

const UNIQUE_VIOLATION = '23505';

export const isUniqueViolation = (err: unknown): boolean => (err as { code?: unknown } | null)?.code === UNIQUE_VIOLATION;

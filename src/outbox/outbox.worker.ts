import { Injectable, Logger, type OnApplicationBootstrap, type BeforeApplicationShutdown } from '@nestjs/common';
import { type OutboxEntry, type OutboxKind, OutboxRepository } from './outbox.repository.js';

/** What a handler throws for a message that can never be delivered (a mailbox that does not exist). */
export class PermanentFailure extends Error {}

/** How one attempt at a message ended. */
export type DeliveryOutcome = 'delivered' | 'retry' | 'dead';

export interface OutboxHandler {
  deliver(payload: Record<string, unknown>): Promise<void>;
  /** What of the payload is kept once delivered. */
  record(payload: Record<string, unknown>): object;
  /** The wait after the `attempts`-th failed attempt; unset: retryDelaySeconds (below). */
  retryDelaySeconds?(attempts: number): number;
  /**
   * Unset: retried for as long as it takes. Set: a message this many seconds past its creation is
   * given up when an attempt fails, and the last retry is brought forward to that moment, so
   * that "retried for N seconds" holds to the second whatever the schedule's steps.
   */
  giveUpAfterSeconds?: number;
  /** Told how each attempt ended, once it is recorded (metrics). */
  settled?(outcome: DeliveryOutcome): void;
  /** The instance is stopping: cut deliveries in flight short (they fail, and are retried). */
  stop?(): void;
}

const POLL_MS = 1000;
const BATCH = 20;
/** Longer than a delivery may take (the mail transport gives up after 30 s). */
const LEASE_SECONDS = 60;
/** Retries wait 2, 4, 8 … seconds, at most an hour, with jitter; they never stop by themselves. */
const MAX_DELAY_SECONDS = 3600;

export function retryDelaySeconds(attempts: number, random = Math.random): number {
  const base = Math.min(MAX_DELAY_SECONDS, 2 ** Math.min(attempts, 12));
  return Math.round(base * (0.75 + random() * 0.5));
}

/**
 * Delivers the outbox: every instance polls it each second and takes what is due (one instance a
 * message, see OutboxRepository.claim). The server's one way for something to leave the process
 * reliably: a message is written in the transaction of its cause, then retried until delivered.
 */
@Injectable()
export class OutboxWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(OutboxWorker.name);
  private readonly handlers = new Map<OutboxKind, OutboxHandler>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly outbox: OutboxRepository) {}

  handle(kind: OutboxKind, handler: OutboxHandler): void {
    this.handlers.set(kind, handler);
  }

  onApplicationBootstrap(): void {
    this.schedule();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    // A delivery waiting on a slow receiver must not hold the shutdown past its deadline.
    for (const handler of this.handlers.values()) handler.stop?.();
    await this.running;
  }

  /** One pass over what is due; the tests call it to skip the wait. */
  drain(): Promise<void> {
    this.running ??= this.deliverDue().finally(() => (this.running = undefined));
    return this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.drain().finally(() => this.schedule()), POLL_MS);
    this.timer.unref();
  }

  private async deliverDue(): Promise<void> {
    let due: OutboxEntry[];
    try {
      due = await this.outbox.claim(BATCH, LEASE_SECONDS);
    } catch (err) {
      this.logger.warn({ err: String(err) }, 'Could not read the outbox; trying again');
      return;
    }
    await Promise.all(due.map((entry) => this.deliver(entry)));
  }

  private async deliver({ id, kind, payload, attempts, createdAt }: OutboxEntry): Promise<void> {
    const handler = this.handlers.get(kind);
    try {
      if (!handler) throw new Error(`No handler for ${kind}`);
      await handler.deliver(payload);
      await this.outbox.delivered(id, handler.record(payload));
      handler.settled?.('delivered');
    } catch (err) {
      const { dead, delay, expired } = nextStep(handler, err, attempts, createdAt);
      const failure = err instanceof Error ? err.message : String(err);
      const reason = expired ? `Given up ${handler?.giveUpAfterSeconds} s after it was written; last attempt: ${failure}` : failure;
      this.logger.warn({ id, kind, attempts, reason, retryInSeconds: dead ? null : delay }, dead ? 'Outbox message given up' : 'Outbox message not delivered; will retry');
      await this.outbox.failed(id, reason, delay, dead).then(
        () => handler?.settled?.(dead ? 'dead' : 'retry'),
        (e: unknown) => this.logger.warn({ id, err: String(e) }, 'Could not record a failed delivery'),
      );
    }
  }
}

/** After a failed attempt: given up (`expired`: for its age), or when to try again. */
function nextStep(handler: OutboxHandler | undefined, err: unknown, attempts: number, createdAt: Date): { dead: boolean; delay: number; expired?: boolean } {
  const delay = handler?.retryDelaySeconds?.(attempts) ?? retryDelaySeconds(attempts);
  if (err instanceof PermanentFailure) return { dead: true, delay };
  const limit = handler?.giveUpAfterSeconds;
  if (limit === undefined) return { dead: false, delay };
  const left = limit - (Date.now() - createdAt.getTime()) / 1000;
  return left <= 0 ? { dead: true, delay, expired: true } : { dead: false, delay: Math.min(delay, Math.ceil(left)) };
}

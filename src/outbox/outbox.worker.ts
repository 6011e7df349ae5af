import { Injectable, Logger, type OnApplicationBootstrap, type BeforeApplicationShutdown } from '@nestjs/common';
import { type Delivered, type OutboxEntry, type OutboxKind, OutboxRepository } from './outbox.repository.js';
import { PollingLoop } from './polling-loop.js';

export class PermanentFailure extends Error {}

/** Held (`unknown`), never sent again by itself: the message may have left, and a second attempt could make a second copy. */
export class OutcomeUnknown extends Error {}

export type DeliveryOutcome = 'delivered' | 'retry' | 'dead' | 'unknown';

export interface OutboxHandler {
  deliver(payload: Record<string, unknown>, id: string): Promise<void>;
  record(payload: Record<string, unknown>): object;
  concurrency: { perDestination: number; total: number };
  retryDelaySeconds?(attempts: number): number;
  /** Past this age a failing message is given up; the last retry is brought forward so the bound holds to the second. */
  giveUpAfterSeconds?: number;
  settled?(outcome: DeliveryOutcome): void;
  /** Ends the deliveries in flight soon; one that may have left throws OutcomeUnknown. */
  stop?(): void;
}

const POLL_MS = 1000;
const MAX_CLAIM = 200;
const LEASE_SECONDS = 60;
const RECORD_BATCH = 500;
const MAX_DELAY_SECONDS = 3600;

export function retryDelaySeconds(attempts: number, random = Math.random): number {
  const base = Math.min(MAX_DELAY_SECONDS, 2 ** Math.min(attempts, 12));
  return Math.round(base * (0.75 + random() * 0.5));
}

interface Queue {
  kind: OutboxKind;
  handler: OutboxHandler;
  inFlight: number;
  lanes: Map<string, number>;
  loop: PollingLoop<boolean>;
  /** All that was due was in `blocked`: claimed again by the poll or a release. */
  exhausted: boolean;
  /** Lanes filled at the last claim: more may be due there once slots free. */
  blocked: Set<string>;
  seen: Set<string>;
}

/** Per kind a pipeline: claims as soon as there is room, and slots per destination, so a hung endpoint holds only its own. */
@Injectable()
export class OutboxWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(OutboxWorker.name);
  private readonly queues = new Map<OutboxKind, Queue>();
  private readonly unsettled = new Map<string, Promise<void>>();
  private toRecord: Array<Delivered & { queue: Queue }> = [];
  private recording: Promise<void> | undefined;
  private readonly heartbeat = new PollingLoop(() => this.extendLeases(), (LEASE_SECONDS / 3) * 1000);
  private started = false;
  private stopped = false;

  constructor(private readonly outbox: OutboxRepository) {}

  handle(kind: OutboxKind, handler: OutboxHandler): void {
    const claim = () => {
      queue.exhausted = false;
      return this.claimWhileRoom(queue);
    };
    const queue: Queue = { kind, handler, inFlight: 0, lanes: new Map(), loop: new PollingLoop(claim, POLL_MS), exhausted: false, blocked: new Set(), seen: new Set() };
    this.queues.set(kind, queue);
    if (this.started) queue.loop.start();
  }

  onApplicationBootstrap(): void {
    this.started = true;
    for (const queue of this.queues.values()) queue.loop.start();
    this.heartbeat.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    // Not awaited: a claim hung on the database must not hold the shutdown.
    for (const queue of this.queues.values()) void queue.loop.stop();
    // Each handler decides how long what is in flight may take (a mail past its DATA waits a little).
    for (const { handler } of this.queues.values()) handler.stop?.();
    await this.settledAll();
    void this.heartbeat.stop();
  }

  /** The tests call it to skip the wait. */
  async drain(): Promise<void> {
    for (;;) {
      const exhausted = await Promise.all([...this.queues.values()].map((queue) => this.fill(queue)));
      await this.settledAll();
      const idle = [...this.queues.values()].every((queue) => !queue.loop.busy && queue.blocked.size === 0);
      if ((exhausted.every(Boolean) && idle) || this.stopped) return;
    }
  }

  private fill(queue: Queue): Promise<boolean> {
    return this.stopped ? Promise.resolve(true) : queue.loop.run();
  }

  private async claimWhileRoom(queue: Queue): Promise<boolean> {
    const { perDestination, total } = queue.handler.concurrency;
    const free = (lane: string) => perDestination - (queue.lanes.get(lane) ?? 0);
    for (;;) {
      const room = Math.min(MAX_CLAIM, total - queue.inFlight);
      if (room < claimAtLeast(total) && queue.inFlight > 0) {
        queue.exhausted = false;
        return false;
      }
      // A lane with less than a claim's worth of room counts as full, so it is not claimed for one row at a time.
      const lanes = [...queue.lanes.keys()];
      const full = lanes.filter((lane) => free(lane) < claimAtLeast(perDestination));
      const limit = Math.min(room, perDestination, ...lanes.filter((lane) => !full.includes(lane)).map(free));
      let due: OutboxEntry[];
      try {
        due = await this.outbox.claim(queue.kind, full, limit, LEASE_SECONDS);
      } catch (err) {
        this.logger.warn({ err: String(err), kind: queue.kind }, 'Could not read the outbox; trying again');
        return true;
      }
      for (const entry of due) this.start(queue, entry);
      for (const lane of [...full, ...due.map((e) => e.lane)]) if (free(lane) < claimAtLeast(perDestination)) queue.blocked.add(lane);
      // Again at once only when more may be due where there is room; a claim past full lanes' rows reads for nothing.
      for (const { lane } of due) queue.seen.add(lane);
      const roomy = (lane: string) => free(lane) >= claimAtLeast(perDestination);
      const again = full.some(roomy) || (due.length === limit && [...queue.seen].some(roomy));
      queue.exhausted = !again;
      if (!again || this.stopped) return !again;
    }
  }

  private start(queue: Queue, entry: OutboxEntry): void {
    queue.inFlight++;
    queue.lanes.set(entry.lane, (queue.lanes.get(entry.lane) ?? 0) + 1);
    const settled = this.deliver(queue, entry).finally(() => this.unsettled.delete(entry.id));
    this.unsettled.set(entry.id, settled);
  }

  private async deliver(queue: Queue, entry: OutboxEntry): Promise<void> {
    const { id, kind, payload, attempts, createdAt } = entry;
    const { handler } = queue;
    let failure: unknown;
    try {
      await handler.deliver(payload, id);
    } catch (err) {
      failure = err;
    }
    this.release(queue, entry.lane);
    if (failure === undefined) return this.record({ id, keep: handler.record(payload), queue });
    const { status, delay, expired } = nextStep(handler, failure, attempts, createdAt);
    const message = failure instanceof Error ? failure.message : String(failure);
    const reason = expired ? `Given up ${handler.giveUpAfterSeconds} s after it was written; last attempt: ${message}` : message;
    const log = { id, kind, attempts, reason, retryInSeconds: status === 'pending' ? delay : null };
    if (status === 'unknown') this.logger.error(log, 'Outbox message held: it may have been delivered, so it is not sent again by itself');
    else this.logger.warn(log, status === 'dead' ? 'Outbox message given up' : 'Outbox message not delivered; will retry');
    await this.outbox.failed(id, reason, delay, status).then(
      () => handler.settled?.(status === 'pending' ? 'retry' : status),
      (e: unknown) => this.logger.warn({ id, err: String(e) }, 'Could not record a failed delivery'),
    );
  }

  private release(queue: Queue, lane: string): void {
    const { perDestination } = queue.handler.concurrency;
    const n = queue.lanes.get(lane)! - 1;
    if (n === 0) queue.lanes.delete(lane);
    else queue.lanes.set(lane, n);
    queue.inFlight--;
    if (queue.blocked.has(lane) && perDestination - n >= claimAtLeast(perDestination)) {
      queue.blocked.delete(lane);
      queue.exhausted = false;
    }
    if (!queue.exhausted) void this.fill(queue);
  }

  private record(delivered: Delivered & { queue: Queue }): Promise<void> {
    this.toRecord.push(delivered);
    this.recording ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.flush());
    return this.recording;
  }

  private async flush(): Promise<void> {
    while (this.toRecord.length > 0) {
      const batch = this.toRecord.splice(0, RECORD_BATCH);
      try {
        await this.outbox.delivered(batch.map(({ id, keep }) => ({ id, keep })));
        for (const { queue } of batch) queue.handler.settled?.('delivered');
      } catch (err) {
        // Their leases run out and they are delivered again: at least once.
        this.logger.warn({ err: String(err), ids: batch.map((d) => d.id) }, 'Could not record delivered outbox messages');
      }
    }
    this.recording = undefined;
  }

  private async extendLeases(): Promise<void> {
    const ids = [...this.unsettled.keys()];
    if (ids.length === 0) return;
    try {
      await this.outbox.extendLease(ids, LEASE_SECONDS);
    } catch (err) {
      this.logger.warn({ err: String(err), count: ids.length }, 'Could not extend the leases of the deliveries in flight');
    }
  }

  private async settledAll(): Promise<void> {
    while (this.unsettled.size > 0 || this.recording) {
      await Promise.all([...this.unsettled.values(), this.recording]);
    }
  }
}

const claimAtLeast = (slots: number): number => (slots < 8 ? 1 : Math.floor(slots / 2));

export function nextStep(
  handler: Pick<OutboxHandler, 'retryDelaySeconds' | 'giveUpAfterSeconds'>,
  err: unknown,
  attempts: number,
  createdAt: Date,
  now = Date.now(),
): { status: 'pending' | 'dead' | 'unknown'; delay: number; expired?: boolean } {
  const delay = handler.retryDelaySeconds?.(attempts) ?? retryDelaySeconds(attempts);
  if (err instanceof PermanentFailure) return { status: 'dead', delay };
  if (err instanceof OutcomeUnknown) return { status: 'unknown', delay: 0 };
  const limit = handler.giveUpAfterSeconds;
  if (limit === undefined) return { status: 'pending', delay };
  const left = limit - (now - createdAt.getTime()) / 1000;
  return left <= 0 ? { status: 'dead', delay, expired: true } : { status: 'pending', delay: Math.min(delay, Math.ceil(left)) };
}

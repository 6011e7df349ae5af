import { Injectable, Logger, type OnApplicationBootstrap, type BeforeApplicationShutdown } from '@nestjs/common';
import { type Delivered, type OutboxEntry, type OutboxKind, OutboxRepository } from './outbox.repository.js';

/** What a handler throws for a message that can never be delivered (a mailbox that does not exist). */
export class PermanentFailure extends Error {}

/**
 * What a handler throws when the message may have been delivered and nobody can tell (a mail
 * whose DATA went out and whose answer never came): it is held (`unknown`), never sent again by
 * itself, since a second attempt could make a second copy.
 */
export class OutcomeUnknown extends Error {}

/** How one attempt at a message ended. */
export type DeliveryOutcome = 'delivered' | 'retry' | 'dead' | 'unknown';

export interface OutboxHandler {
  /** `id`: the outbox row's, the same on every attempt. */
  deliver(payload: Record<string, unknown>, id: string): Promise<void>;
  /** What of the payload is kept once delivered. */
  record(payload: Record<string, unknown>): object;
  /** Deliveries in flight at once to one destination (OutboxEntry.lane), and to all of this kind. */
  concurrency: { perDestination: number; total: number };
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
  /**
   * The instance is stopping: end the deliveries in flight soon (the worker waits for them). One
   * cut short before anything left fails and is retried; one that may have left throws
   * OutcomeUnknown.
   */
  stop?(): void;
}

const POLL_MS = 1000;
/** Claims take at most this many rows; a claim waits until there is room for a few. */
const MAX_CLAIM = 200;
/** The lease a claim takes: extended every third of it while the delivery runs (heartbeat). */
const LEASE_SECONDS = 60;
/** Delivered rows are recorded together, up to this many a statement. */
const RECORD_BATCH = 500;
/** Retries wait 2, 4, 8 … seconds, at most an hour, with jitter; they never stop by themselves. */
const MAX_DELAY_SECONDS = 3600;

export function retryDelaySeconds(attempts: number, random = Math.random): number {
  const base = Math.min(MAX_DELAY_SECONDS, 2 ** Math.min(attempts, 12));
  return Math.round(base * (0.75 + random() * 0.5));
}

/** One kind's deliveries on this instance. */
interface Queue {
  kind: OutboxKind;
  handler: OutboxHandler;
  inFlight: number;
  /** Deliveries in flight by destination (lanes with none are absent). */
  lanes: Map<string, number>;
  /** The claim under way: whether it found all that was due outside `blocked`. */
  claiming: Promise<boolean> | undefined;
  /** The last claim found all that was due, but in `blocked`; polled again (POLL_MS) or released. */
  exhausted: boolean;
  /** Lanes that got all their room at the last claim: more may be due there once slots free. */
  blocked: Set<string>;
  /** Every lane claimed from (destinations: a few endpoints, the SMTP server). */
  seen: Set<string>;
}

/**
 * Delivers the outbox, as a pipeline per kind: as soon as a kind has room, it claims due messages
 * (one instance a message, see OutboxRepository.claim) and starts each at once; each settles on its
 * own, so no delivery waits for a slower one. A destination (a webhook endpoint; the SMTP server)
 * has `perDestination` slots, so one that hangs holds only its own, and kinds have separate
 * budgets, so webhooks never hold up mail. Each kind is polled every second, and claimed again
 * whenever a delivery frees a slot while more is due. The server's one way for something to leave
 * the process reliably: a message is written in the transaction of its cause, then retried until
 * delivered.
 */
@Injectable()
export class OutboxWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(OutboxWorker.name);
  private readonly queues = new Map<OutboxKind, Queue>();
  /** Every delivery not yet recorded, by row id: their leases are extended while they run. */
  private readonly unsettled = new Map<string, Promise<void>>();
  private toRecord: Array<Delivered & { queue: Queue }> = [];
  private recording: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly outbox: OutboxRepository) {}

  handle(kind: OutboxKind, handler: OutboxHandler): void {
    this.queues.set(kind, { kind, handler, inFlight: 0, lanes: new Map(), claiming: undefined, exhausted: false, blocked: new Set(), seen: new Set() });
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      for (const queue of this.queues.values()) {
        queue.exhausted = false;
        void this.fill(queue);
      }
    }, POLL_MS);
    this.timer.unref();
    this.heartbeat = setInterval(() => void this.extendLeases(), (LEASE_SECONDS / 3) * 1000);
    this.heartbeat.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    // Each handler decides how long what is in flight may take (a mail past its DATA waits a little).
    for (const { handler } of this.queues.values()) handler.stop?.();
    await this.settledAll();
    clearInterval(this.heartbeat);
  }

  /** Delivers what is due now and waits until it is all recorded; the tests call it to skip the wait. */
  async drain(): Promise<void> {
    for (;;) {
      const exhausted = await Promise.all([...this.queues.values()].map((queue) => this.fill(queue)));
      await this.settledAll();
      const idle = [...this.queues.values()].every((queue) => !queue.claiming && queue.blocked.size === 0);
      if ((exhausted.every(Boolean) && idle) || this.stopped) return;
    }
  }

  /** Claims while `queue` has room and more is due; resolves with whether all that was due was taken. */
  private fill(queue: Queue): Promise<boolean> {
    if (this.stopped) return Promise.resolve(true);
    queue.claiming ??= this.claimWhileRoom(queue).finally(() => (queue.claiming = undefined));
    return queue.claiming;
  }

  private async claimWhileRoom(queue: Queue): Promise<boolean> {
    const { perDestination, total } = queue.handler.concurrency;
    const free = (lane: string) => perDestination - (queue.lanes.get(lane) ?? 0);
    for (;;) {
      const room = Math.min(MAX_CLAIM, total - queue.inFlight);
      if (room < claimAtLeast(total) && queue.inFlight > 0) {
        // Claimed again as deliveries settle.
        queue.exhausted = false;
        return false;
      }
      // A lane with less room than a claim's worth counts as full: it is claimed for again once
      // enough of it frees (release), not one row at a time. Any other lane, one with nothing in
      // flight included, may get the whole claim: it is kept within the smallest room.
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
      // More may be due in the lanes left out, and in those this claim filled: each is claimed for
      // again once it has room (release). Claimed again at once only while a lane with room got
      // rows, as the rest of a backlog may be there.
      for (const lane of [...full, ...due.map((e) => e.lane)]) if (free(lane) < claimAtLeast(perDestination)) queue.blocked.add(lane);
      // Again at once when a lane left out has room already (its deliveries settled during the
      // claim), or when the claim was full and a destination seen before has room: more may be due
      // there. Not when the only destinations with more due are full: a claim would read past
      // their rows for nothing.
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

  /** A slot is free again: claim more at once when that gives a lane with more due, or the kind, a claim's worth of room. */
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

  /** Delivered rows are recorded in batches: one statement for what settled meanwhile. */
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

  /** Until every delivery started so far, and every record of them, is done. */
  private async settledAll(): Promise<void> {
    while (this.unsettled.size > 0 || this.recording) {
      await Promise.all([...this.unsettled.values(), this.recording]);
    }
  }
}

/** The room worth a claim, out of `slots`: a claim for one free slot at a time would be a statement a delivery. */
const claimAtLeast = (slots: number): number => (slots < 8 ? 1 : Math.floor(slots / 2));

/** After a failed attempt: given up (`expired`: for its age), held, or when to try again. */
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

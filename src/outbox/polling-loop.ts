const ignore = (): void => undefined;

/** Runs `pass` `everyMs` after the previous one ended, never two at once; `run` wakes it early. */
export class PollingLoop<T> {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<T> | undefined;
  private stopped = true;

  constructor(
    private readonly pass: () => Promise<T>,
    private readonly everyMs: number,
  ) {}

  get busy(): boolean {
    return this.running !== undefined;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  run(): Promise<T> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  /** Resolves once the pass under way has ended; callers that must not wait on a hung one need not await it. */
  stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    return this.running?.then(ignore, ignore) ?? Promise.resolve();
  }

  private schedule(): void {
    if (this.stopped) return;
    // A pass logs its own failures; one that throws anyway must not end the loop.
    this.timer = setTimeout(() => void this.run().then(ignore, ignore).finally(() => this.schedule()), this.everyMs);
    this.timer.unref();
  }
}

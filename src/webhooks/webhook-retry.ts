export const WEBHOOK_GIVE_UP_AFTER_SECONDS = 24 * 3600;

const SCHEDULE_SECONDS = [5, 30, 120, 300, 1800, 3600, 7200];
const THEN_EVERY_SECONDS = 4 * 3600;

/** ±20 % jitter: deliveries an outage failed together do not all come back at the same second. */
export function webhookRetryDelaySeconds(attempts: number, random = Math.random): number {
  const base = SCHEDULE_SECONDS[attempts - 1] ?? THEN_EVERY_SECONDS;
  return Math.max(1, Math.round(base * (0.8 + random() * 0.4)));
}

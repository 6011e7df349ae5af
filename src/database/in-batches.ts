/**
 * Repeats `batch` until one deletes fewer than `size` rows. `batch` answers null when another
 * instance holds the job's lock: then null, unless earlier batches of this run deleted some.
 */
export async function inBatches(size: number, batch: () => Promise<number | null>): Promise<number | null> {
  let total = 0;
  for (;;) {
    const deleted = await batch();
    if (deleted === null) return total > 0 ? total : null;
    total += deleted;
    if (deleted < size) return total;
  }
}

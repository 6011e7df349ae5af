// Null only when another instance held the job's lock before this run deleted anything.
export async function inBatches(size: number, batch: () => Promise<number | null>): Promise<number | null> {
  let total = 0;
  for (;;) {
    const deleted = await batch();
    if (deleted === null) return total > 0 ? total : null;
    total += deleted;
    if (deleted < size) return total;
  }
}

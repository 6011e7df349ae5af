import DataLoader from 'dataloader';

/**
 * Calls made concurrently, coalesced into one query each batch: a DataLoader with its cache off
 * (every call is answered by a query sent after it was made) and a limit on the batch queries
 * running at once. A batch takes every call made before it is sent: at the end of the turn of
 * the event loop that opened it (as DataLoader does) or, while `maxQueries` batches are running,
 * when one of them ends. Requests arrive one per turn, so without that limit each would still
 * make its own query, queued behind the pool.
 */
export function queryBatcher<K, V>(
  run: (keys: readonly K[]) => Promise<V[]>,
  { maxQueries, maxBatchSize }: { maxQueries: number; maxBatchSize: number },
): DataLoader<K, V> {
  let running = 0;
  const waiting: Array<() => void> = [];
  return new DataLoader<K, V>(
    async (keys) => {
      try {
        return await run(keys);
      } finally {
        const next = waiting.shift();
        if (next) next();
        else running--;
      }
    },
    {
      cache: false,
      maxBatchSize,
      batchScheduleFn: (dispatch) => {
        if (running >= maxQueries) return void waiting.push(dispatch);
        running++;
        void Promise.resolve().then(() => process.nextTick(dispatch));
      },
    },
  );
}

import DataLoader from 'dataloader';

// DataLoader without its cache; a batch waits while `maxQueries` run, or requests (one per event-loop turn) would each query alone.
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

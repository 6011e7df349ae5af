import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { queryBatcher } from './query-batcher.js';

// The query batcher on a fake query: which calls share a query, and how many run at once.

/** A query held until the test ends it: the keys it was sent, and `end()` to answer them. */
interface HeldQuery {
  keys: readonly number[];
  end: (err?: Error) => void;
}

function heldQueries() {
  const queries: HeldQuery[] = [];
  const run = (keys: readonly number[]) =>
    new Promise<string[]>((resolve, reject) => {
      queries.push({ keys, end: (err) => (err ? reject(err) : resolve(keys.map((k) => `row ${k}`))) });
    });
  return { queries, run };
}

/** Lets the batcher send what is due: a few turns of the event loop. */
const settle = async () => {
  for (let i = 0; i < 3; i++) await nextTurn();
};

describe('queryBatcher', () => {
  it('calls made in one turn share one query, each answered with its own row', async () => {
    const { queries, run } = heldQueries();
    const batcher = queryBatcher(run, { maxQueries: 2, maxBatchSize: 100 });
    const answers = Promise.all([batcher.load(1), batcher.load(2), batcher.load(3)]);
    await settle();
    expect(queries.map((q) => q.keys)).toStrictEqual([[1, 2, 3]]);
    queries[0]!.end();
    expect(await answers).toStrictEqual(['row 1', 'row 2', 'row 3']);
  });

  it('caches nothing: the same key again is sent again, in the same query or a later one', async () => {
    const { queries, run } = heldQueries();
    const batcher = queryBatcher(run, { maxQueries: 2, maxBatchSize: 100 });
    const first = Promise.all([batcher.load(7), batcher.load(7)]);
    await settle();
    queries[0]!.end();
    await first;
    const again = batcher.load(7);
    await settle();
    queries[1]!.end();
    await again;
    expect(queries.map((q) => q.keys)).toStrictEqual([[7, 7], [7]]);
  });

  it('while maxQueries queries run, calls of later turns wait and then share one query', async () => {
    const { queries, run } = heldQueries();
    const batcher = queryBatcher(run, { maxQueries: 1, maxBatchSize: 100 });
    const all = [batcher.load(1)];
    await settle();
    expect(queries).toHaveLength(1);
    // One call a turn, as requests arrive: none is sent while the first query runs.
    for (const key of [2, 3, 4]) {
      all.push(batcher.load(key));
      await settle();
    }
    expect(queries).toHaveLength(1);
    queries[0]!.end();
    await settle();
    expect(queries.map((q) => q.keys)).toStrictEqual([[1], [2, 3, 4]]);
    queries[1]!.end();
    expect(await Promise.all(all)).toStrictEqual(['row 1', 'row 2', 'row 3', 'row 4']);
  });

  it('runs up to maxQueries queries at once', async () => {
    const { queries, run } = heldQueries();
    const batcher = queryBatcher(run, { maxQueries: 2, maxBatchSize: 100 });
    const all = [];
    for (const key of [1, 2, 3]) {
      all.push(batcher.load(key));
      await settle();
    }
    expect(queries.map((q) => q.keys)).toStrictEqual([[1], [2]]);
    queries[1]!.end();
    await settle();
    expect(queries.map((q) => q.keys)).toStrictEqual([[1], [2], [3]]);
    queries[0]!.end();
    queries[2]!.end();
    expect(await Promise.all(all)).toStrictEqual(['row 1', 'row 2', 'row 3']);
  });

  it('splits a turn of calls into queries of at most maxBatchSize keys', async () => {
    const { queries, run } = heldQueries();
    const batcher = queryBatcher(run, { maxQueries: 4, maxBatchSize: 2 });
    const all = [1, 2, 3, 4, 5].map((key) => batcher.load(key));
    await settle();
    expect(queries.map((q) => q.keys)).toStrictEqual([[1, 2], [3, 4], [5]]);
    for (const q of queries) q.end();
    expect(await Promise.all(all)).toHaveLength(5);
  });

  it('a failed query fails its own calls only, and frees its place for the next', async () => {
    const { queries, run } = heldQueries();
    const batcher = queryBatcher(run, { maxQueries: 1, maxBatchSize: 100 });
    const failing = Promise.allSettled([batcher.load(1), batcher.load(2)]);
    await settle();
    const next = batcher.load(3);
    await settle();
    queries[0]!.end(new Error('connection lost'));
    expect((await failing).map((r) => r.status)).toStrictEqual(['rejected', 'rejected']);
    await settle();
    expect(queries.map((q) => q.keys)).toStrictEqual([[1, 2], [3]]);
    queries[1]!.end();
    expect(await next).toBe('row 3');
  });
});

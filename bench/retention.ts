/**
 * Measures the two ways to expire job history (decision 003): batched DELETEs on one table
 * (what Keel does) against dropping a day partition of a table partitioned by finished_at.
 * Usage: node --import tsx bench/retention.ts [rowsPerDay=50000] [days=8]
 */
import pg from "pg";

const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const perDay = Number(process.argv[2] ?? 50_000);
const days = Number(process.argv[3] ?? 8);
const client = new pg.Client({ connectionString: url });
await client.connect();
const S = `bench_retention_${process.pid}`;
const row = `queue text, state text, payload jsonb, finished_at timestamptz not null`;
const fill = (table: string) =>
  client.query(
    `insert into ${S}.${table} (queue, state, payload, finished_at)
     select 'q', 'succeeded', '{"to":"someone@example.com","n":42}', now() - (g % $2::int) * interval '1 day' - interval '1 hour'
     from generate_series(1, $1::int * $2::int) g`,
    [perDay, days],
  );
const time = async (fn: () => Promise<unknown>) => {
  const t = performance.now();
  await fn();
  return performance.now() - t;
};

try {
  await client.query(`create schema ${S}`);
  await client.query(`create table ${S}.flat (id bigint generated always as identity primary key, ${row})`);
  await client.query(`create index on ${S}.flat (queue, state, finished_at)`);
  await client.query(
    `create table ${S}.parted (id bigint generated always as identity, ${row}) partition by range (finished_at)`,
  );
  for (let d = days; d >= -1; d--) {
    await client.query(
      `create table ${S}.parted_${d + 1} partition of ${S}.parted
       for values from (date_trunc('day', now()) - ${d} * interval '1 day') to (date_trunc('day', now()) - ${d - 1} * interval '1 day')`,
    );
  }
  await client.query(`create index on ${S}.parted (queue, state, finished_at)`);
  const insertFlat = await time(() => fill("flat"));
  const insertParted = await time(() => fill("parted"));
  let batches = 0;
  const deleteFlat = await time(async () => {
    for (;;) {
      const res = await client.query(
        `delete from ${S}.flat where id in (select id from ${S}.flat where queue = 'q' and state = 'succeeded'
         and finished_at < now() - interval '7 days' order by finished_at limit 5000)`,
      );
      batches++;
      if ((res.rowCount ?? 0) < 5000) break;
    }
  });
  const dropParted = await time(() => client.query(`drop table ${S}.parted_${days}`));
  const result = {
    rowsPerDay: perDay,
    days,
    insertMs: { flat: Math.round(insertFlat), partitioned: Math.round(insertParted) },
    expireOneDay: {
      batchedDeleteMs: Math.round(deleteFlat),
      batches,
      dropPartitionMs: Math.round(dropParted),
    },
    deletedRowsPerSecond: Math.round(perDay / (deleteFlat / 1000)),
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  await client.query(`drop schema if exists ${S} cascade`);
  await client.end();
}

// The e-commerce pipeline's job done in DuckDB SQL, as hivehook-etl's peer in bench/etl/run.
//   node duckdb_etl.mjs WAREHOUSE.duckdb LANDING
// One process for everything (DuckDB's best case: no start-up per file, a warm buffer pool, both
// cores): the two dimension snapshots, then every transactions file in key order, each one DuckDB
// transaction. It follows ECOMMERCE.md exactly, set-based: the file is read as text, split into
// physical lines, lines are grouped into records by quote parity (window sum), records are split
// into fields (string_split, or an RFC 4180 regular expression for the few that hold quotes),
// checked for the seven reasons in contract order with hash joins against the dimensions, and the
// file's winners (QUALIFY) are upserted set-based: the stored rows they beat are deleted, and the
// winners whose id is not stored are inserted (hash joins; no primary-key index to maintain).
// Rejects keep their physical line and raw text. The warehouse is a DuckDB file (DuckDB's sqlite
// and postgres extensions are downloaded at run time, which this machine cannot do).
// Prints one JSON line: per-step seconds and the same digest bench/etl/digest prints.
import { DuckDBInstance } from '@duckdb/node-api';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';

const [dbPath, landing] = process.argv.slice(2);
if (!dbPath || !landing) {
  console.error('usage: node duckdb_etl.mjs WAREHOUSE.duckdb LANDING');
  process.exit(64);
}
const walk = (dir) => readdirSync(dir).flatMap((n) => {
  const p = join(dir, n);
  return statSync(p).isDirectory() ? walk(p) : [p];
});
const csvs = (dir) => walk(join(landing, dir)).filter((p) => p.endsWith('.csv')).sort();
const q = (s) => `'${s.replaceAll("'", "''")}'`;

// DUCKDB_THREADS: DuckDB's worker threads (default: one per core, DuckDB's own default).
const instance = await DuckDBInstance.create(dbPath,
  process.env.DUCKDB_THREADS ? { threads: process.env.DUCKDB_THREADS } : {});
const db = await instance.connect();
const scalar = async (sql) => (await db.runAndReadAll(sql)).getRows()[0][0];

await db.run(`
  CREATE TABLE IF NOT EXISTS dim_products (product_id VARCHAR, product_name VARCHAR,
    category VARCHAR, price DECIMAL(18,4), supplier_id VARCHAR, source_file VARCHAR,
    loaded_at TIMESTAMPTZ);
  CREATE TABLE IF NOT EXISTS dim_customers (customer_id VARCHAR, first_name VARCHAR,
    last_name VARCHAR, email VARCHAR, membership_level VARCHAR, country VARCHAR,
    source_file VARCHAR, loaded_at TIMESTAMPTZ);
  CREATE TABLE IF NOT EXISTS fact_transactions (transaction_id VARCHAR,
    customer_id VARCHAR, product_id VARCHAR, product_name VARCHAR, category VARCHAR,
    supplier_id VARCHAR, membership_level VARCHAR, country VARCHAR, quantity BIGINT,
    unit_price DECIMAL(18,4), amount DECIMAL(38,2), amount_class VARCHAR, transaction_ts TIMESTAMP,
    transaction_date DATE, status VARCHAR, payment_method VARCHAR, source_file VARCHAR,
    loaded_at TIMESTAMPTZ, status_rank TINYINT);
  CREATE TABLE IF NOT EXISTS rejected_transactions (source_file VARCHAR, line_number BIGINT,
    reason VARCHAR, raw VARCHAR, loaded_at TIMESTAMPTZ);`);

// Dimension snapshots are well formed by contract (or the whole file fails): DuckDB's own CSV
// reader parses them (quoted line breaks, BOM); ids must be unique, prices and levels valid.
async function loadDims(path) {
  const key = relative(landing, path);
  const products = key.startsWith('dim_products/');
  const [table, id] = products ? ['dim_products', 'product_id'] : ['dim_customers', 'customer_id'];
  const cols = products
    ? ['product_id', 'product_name', 'category', 'price', 'supplier_id']
    : ['customer_id', 'first_name', 'last_name', 'email', 'membership_level', 'country'];
  await db.run(`CREATE OR REPLACE TEMP TABLE dim_stage AS SELECT * FROM read_csv(${q(path)},
    header=true, all_varchar=true, strict_mode=true, quote='"', escape='"', delim=',',
    columns={${cols.map((c) => `'${c}':'VARCHAR'`).join(',')}})`);
  const bad = await scalar(`SELECT count(*) - count(DISTINCT ${id}) + count(*) FILTER (WHERE
    coalesce(${id}, '') = '' OR ${products
      ? `NOT regexp_full_match(coalesce(price, ''), '[0-9]{1,14}(\\.[0-9]{1,4})?')`
      : `membership_level NOT IN ('Bronze', 'Silver', 'Gold', 'Platinum')`}) FROM dim_stage`);
  if (Number(bad) !== 0) throw new Error(`${key}: bad dimension rows`);
  const rest = cols.slice(1);
  // Upsert by id, set-based: replace the rows of ids the snapshot holds, add the rest.
  await db.run(`BEGIN TRANSACTION;
    DELETE FROM ${table} WHERE ${id} IN (SELECT ${id} FROM dim_stage);
    INSERT INTO ${table} SELECT ${cols.join(', ')}, ${q(key)}, now() FROM dim_stage;
    COMMIT`);
}

const HEADER = "['transaction_id', 'customer_id', 'product_id', 'quantity', 'transaction_ts', 'status', 'payment_method']";

async function loadTransactions(path) {
  const key = relative(landing, path);
  // Physical lines (LF-terminated; a final LF ends the last line, it does not start one), then
  // records: a line starts a record when the quotes before it are even. One CR before the LF that
  // ends a record is dropped; a single-line record that is then empty (or a lone CR at the end of
  // the file without LF) is blank. A record with a NUL byte, or not matching RFC 4180, is malformed.
  await db.run(`
    CREATE OR REPLACE TEMP TABLE recs AS
    WITH t AS (SELECT CASE WHEN starts_with(content, chr(65279)) THEN content[2:] ELSE content END AS c
               FROM read_text(${q(path)})),
    s AS (SELECT string_split(c, chr(10)) AS l, ends_with(c, chr(10)) AS lf_end FROM t),
    pl AS (SELECT unnest(l) AS line, generate_subscripts(l, 1) AS ln, len(l) AS n, lf_end FROM s),
    ql AS (SELECT ln, line, ln < n OR lf_end AS has_lf,
                  length(line) - length(replace(line, '"', '')) AS quotes
           FROM pl WHERE NOT (lf_end AND ln = n)),
    st AS (SELECT *, coalesce(sum(quotes) OVER (ORDER BY ln ROWS BETWEEN UNBOUNDED PRECEDING
                                                AND 1 PRECEDING), 0) % 2 = 0 AS starts FROM ql),
    g AS (SELECT *, sum(starts::INTEGER) OVER (ORDER BY ln) AS rec,
                 lead(starts, 1, true) OVER (ORDER BY ln) AS next_starts FROM st),
    -- Nearly every record is one line: only the others go through an ordered string_agg.
    r AS (SELECT ln AS line, 1 AS nlines, has_lf AS last_lf, line AS text FROM g
          WHERE starts AND next_starts
          UNION ALL
          SELECT min(ln), count(*), arg_max(has_lf, ln), string_agg(line, chr(10) ORDER BY ln)
          FROM g WHERE NOT (starts AND next_starts) GROUP BY rec),
    rr AS (SELECT line, nlines, last_lf,
                  CASE WHEN last_lf AND ends_with(text, chr(13)) THEN text[:-2] ELSE text END AS raw
           FROM r)
    , fs AS (SELECT line, raw,
      CASE WHEN contains(raw, chr(0)) THEN NULL
           WHEN NOT contains(raw, '"') THEN string_split(raw, ',')
           WHEN regexp_full_match(raw, '(?:"(?:[^"]|"")*"|[^",]*)(?:,(?:"(?:[^"]|"")*"|[^",]*))*')
             THEN list_transform(regexp_extract_all(',' || raw, ',("(?:[^"]|"")*"|[^",]*)', 1),
                                 x -> CASE WHEN starts_with(x, '"') THEN replace(x[2:-2], '""', '"') ELSE x END)
      END AS f
    FROM rr
    WHERE NOT (nlines = 1 AND (raw = '' OR (NOT last_lf AND raw = chr(13)))))
    SELECT line, raw, f, len(f) = 7 AS seven,
      CASE WHEN seven THEN f[1] END AS tid, CASE WHEN seven THEN f[2] END AS cid,
      CASE WHEN seven THEN f[3] END AS pid, CASE WHEN seven THEN f[4] END AS qty,
      CASE WHEN seven THEN f[5] END AS ts, CASE WHEN seven THEN f[6] END AS status,
      CASE WHEN seven THEN f[7] END AS pay
    FROM fs`);
  const header = await db.runAndReadAll(`SELECT line, coalesce(f = ${HEADER}, false) FROM recs ORDER BY line LIMIT 1`);
  const h = header.getRows()[0];
  if (!h || !h[1]) throw new Error(`${key}: not a transactions file`);
  await db.run(`
    CREATE OR REPLACE TEMP TABLE stage AS
    SELECT r.line, r.raw, r.tid, r.cid, r.pid, r.qty, r.ts, r.status, r.pay, p.product_name,
      p.category, p.supplier_id, p.price, c.membership_level, c.country,
      CASE WHEN NOT coalesce(r.seven, false) THEN 'malformed'
           WHEN r.tid = '' THEN 'missing_id'
           WHEN c.customer_id IS NULL THEN 'unknown_customer'
           WHEN p.product_id IS NULL THEN 'unknown_product'
           WHEN NOT regexp_full_match(r.qty, '[0-9]+') OR coalesce(try_cast(r.qty AS BIGINT), 0) = 0
             THEN 'bad_quantity'
           WHEN NOT regexp_full_match(r.ts, '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z')
                OR starts_with(r.ts, '0000') OR try_strptime(r.ts, '%Y-%m-%dT%H:%M:%SZ') IS NULL
             THEN 'bad_timestamp'
           WHEN r.status NOT IN ('pending', 'completed', 'cancelled', 'refunded') THEN 'bad_status'
      END AS reason
    FROM recs r
    LEFT JOIN dim_customers c ON c.customer_id = r.cid
    LEFT JOIN dim_products p ON p.product_id = r.pid
    WHERE r.line > ${h[0]}`);
  // The file's winners (highest (ts, rank), earliest line on ties), then the upsert as two
  // set-based statements: delete the stored rows a winner beats, insert the winners whose id is
  // not stored (new ids, and those just deleted). Both are hash joins; no per-row index upkeep.
  await db.run(`BEGIN TRANSACTION;
    DELETE FROM rejected_transactions WHERE source_file = ${q(key)};
    INSERT INTO rejected_transactions
      SELECT ${q(key)}, line, reason, raw, now() FROM stage WHERE reason IS NOT NULL;
    CREATE OR REPLACE TEMP TABLE winners AS
      SELECT tid, cid, pid, product_name, category, supplier_id, membership_level, country,
             q, price, amount,
             CASE WHEN amount < 50 THEN 'Small' WHEN amount < 500 THEN 'Medium' ELSE 'Large' END AS class,
             tts, CAST(tts AS DATE) AS tdate, status, pay, rank
      FROM (SELECT *, CAST(qty AS BIGINT) AS q,
                   round(CAST(qty AS DECIMAL(38,0)) * price, 2) AS amount,
                   strptime(ts, '%Y-%m-%dT%H:%M:%SZ') AS tts,
                   CASE status WHEN 'pending' THEN 0 WHEN 'completed' THEN 1
                               WHEN 'cancelled' THEN 2 ELSE 3 END AS rank
            FROM stage WHERE reason IS NULL)
      QUALIFY row_number() OVER (PARTITION BY tid ORDER BY tts DESC, rank DESC, line) = 1;
    DELETE FROM fact_transactions f USING winners w
      WHERE f.transaction_id = w.tid AND (w.tts, w.rank) > (f.transaction_ts, f.status_rank);
    INSERT INTO fact_transactions
      SELECT tid, cid, pid, product_name, category, supplier_id, membership_level, country, q,
             price, amount, class, tts, tdate, status, pay, ${q(key)}, now(), rank
      FROM winners w
      WHERE NOT EXISTS (SELECT 1 FROM fact_transactions f WHERE f.transaction_id = w.tid);
    COMMIT`);
}

const out = { dims_s: [], files_s: [] };
let t = performance.now();
for (const p of [...csvs('dim_products'), ...csvs('dim_customers')]) {
  await loadDims(p);
  const now = performance.now();
  out.dims_s.push((now - t) / 1000);
  t = now;
}
for (const p of csvs('transactions')) {
  await loadTransactions(p);
  const now = performance.now();
  out.files_s.push((now - t) / 1000);
  t = now;
}
await db.run('CHECKPOINT');
out.checkpoint_s = (performance.now() - t) / 1000;
const d = (await db.runAndReadAll(`SELECT
    (SELECT count(*) FROM fact_transactions),
    (SELECT CAST(sum(amount) * 100 AS HUGEINT)::VARCHAR FROM fact_transactions),
    (SELECT count(*) FROM fact_transactions WHERE status IN ('cancelled', 'refunded')),
    (SELECT count(*) FROM rejected_transactions),
    (SELECT sum(line_number) FROM rejected_transactions)`)).getRows()[0];
out.digest = { facts: Number(d[0]), amount_cents: d[1], cancelled_or_refunded: Number(d[2]),
               rejects: Number(d[3]), reject_lines: Number(d[4]) };
console.log(JSON.stringify(out));

// The transactions transform done in DuckDB SQL, as a peer for bench/etl/run.
// Usage: node duckdb_etl.mjs WAREHOUSE.duckdb LANDING
// The warehouse is a DuckDB database file (writing into SQLite would need DuckDB's sqlite
// extension, downloaded at run time). One transaction per file, the same reject reasons in order,
// exact DECIMAL amounts rounded half away from zero, and the same upsert rule.
// DuckDB's CSV reader skips rows it cannot parse, so malformed rows are approximated.
import { DuckDBInstance } from '@duckdb/node-api';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const [dbPath, landing] = process.argv.slice(2);
const walk = (dir) => readdirSync(dir).flatMap((n) => {
  const p = join(dir, n);
  return statSync(p).isDirectory() ? walk(p) : [p];
});
const q = (s) => `'${s.replaceAll("'", "''")}'`;

const instance = await DuckDBInstance.create(dbPath);
const db = await instance.connect();
const dims = (dir) => walk(join(landing, dir)).filter((p) => p.endsWith('.csv'))[0];
await db.run(`
  CREATE OR REPLACE TABLE dim_products AS SELECT * FROM read_csv(${q(dims('dim_products'))}, all_varchar=true, header=true);
  CREATE OR REPLACE TABLE dim_customers AS SELECT * FROM read_csv(${q(dims('dim_customers'))}, all_varchar=true, header=true);
  CREATE TABLE IF NOT EXISTS fact_transactions (transaction_id VARCHAR PRIMARY KEY, customer_id VARCHAR,
    product_id VARCHAR, product_name VARCHAR, category VARCHAR, supplier_id VARCHAR,
    membership_level VARCHAR, country VARCHAR, quantity BIGINT, unit_price DECIMAL(18,4),
    amount DECIMAL(38,2), amount_class VARCHAR, transaction_ts TIMESTAMP, transaction_date DATE,
    status VARCHAR, payment_method VARCHAR, source_file VARCHAR, status_rank INTEGER);
  CREATE TABLE IF NOT EXISTS rejected_transactions (source_file VARCHAR, line_number BIGINT,
    reason VARCHAR, raw VARCHAR);`);

let rows = 0;
const files = walk(join(landing, 'transactions')).filter((p) => p.endsWith('.csv')).sort();
for (const path of files) {
  const key = relative(landing, path);
  // DuckDB's dialect sniffer gives up on a blank line before the header: skip it then.
  const stage = (extra) => db.run(`
    CREATE OR REPLACE TEMP TABLE stage AS
    SELECT row_number() OVER () + 1 AS line, *,
      CASE
        WHEN coalesce(transaction_id, '') = '' THEN 'missing_id'
        WHEN customer_id IS NULL OR customer_id NOT IN (SELECT customer_id FROM dim_customers) THEN 'unknown_customer'
        WHEN product_id IS NULL OR product_id NOT IN (SELECT product_id FROM dim_products) THEN 'unknown_product'
        WHEN NOT regexp_full_match(coalesce(quantity, ''), '[0-9]+') OR ltrim(quantity, '0') = '' THEN 'bad_quantity'
        WHEN NOT regexp_full_match(coalesce(transaction_ts, ''), '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z')
             OR try_strptime(transaction_ts, '%Y-%m-%dT%H:%M:%SZ') IS NULL THEN 'bad_timestamp'
        WHEN coalesce(status, '') NOT IN ('pending', 'completed', 'cancelled', 'refunded') THEN 'bad_status'
      END AS reason
    FROM read_csv(${q(path)}, delim=',', quote='"', escape='"', header=true,
                  ignore_errors=true, strict_mode=false${extra},
                  columns={'transaction_id':'VARCHAR','customer_id':'VARCHAR','product_id':'VARCHAR',
                           'quantity':'VARCHAR','transaction_ts':'VARCHAR','status':'VARCHAR',
                           'payment_method':'VARCHAR'})`);
  await stage('').catch(() => stage(', skip=1'));
  await db.run(`BEGIN TRANSACTION`);
  await db.run(`
    DELETE FROM rejected_transactions WHERE source_file = ${q(key)};
    INSERT INTO rejected_transactions
      SELECT ${q(key)}, line, reason, concat_ws(',', transaction_id, customer_id, product_id, quantity,
             transaction_ts, status, payment_method) FROM stage WHERE reason IS NOT NULL;
    INSERT INTO fact_transactions
    SELECT * EXCLUDE (line) FROM (
      SELECT s.line, s.transaction_id, s.customer_id, s.product_id, p.product_name, p.category,
             p.supplier_id, c.membership_level, c.country, CAST(s.quantity AS BIGINT),
             CAST(p.price AS DECIMAL(18,4)),
             round(CAST(s.quantity AS DECIMAL(38,0)) * CAST(p.price AS DECIMAL(18,4)), 2),
             CASE WHEN round(CAST(s.quantity AS DECIMAL(38,0)) * CAST(p.price AS DECIMAL(18,4)), 2) < 50 THEN 'Small'
                  WHEN round(CAST(s.quantity AS DECIMAL(38,0)) * CAST(p.price AS DECIMAL(18,4)), 2) < 500 THEN 'Medium'
                  ELSE 'Large' END,
             strptime(s.transaction_ts, '%Y-%m-%dT%H:%M:%SZ'), CAST(left(s.transaction_ts, 10) AS DATE),
             s.status, s.payment_method, ${q(key)},
             CASE s.status WHEN 'pending' THEN 0 WHEN 'completed' THEN 1 WHEN 'cancelled' THEN 2 ELSE 3 END AS status_rank
      FROM stage s JOIN dim_products p USING (product_id) JOIN dim_customers c USING (customer_id)
      WHERE s.reason IS NULL
      QUALIFY row_number() OVER (PARTITION BY s.transaction_id
                                 ORDER BY s.transaction_ts DESC, status_rank DESC, s.line) = 1)
    ON CONFLICT (transaction_id) DO UPDATE SET customer_id = excluded.customer_id,
      product_id = excluded.product_id, product_name = excluded.product_name,
      category = excluded.category, supplier_id = excluded.supplier_id,
      membership_level = excluded.membership_level, country = excluded.country,
      quantity = excluded.quantity, unit_price = excluded.unit_price, amount = excluded.amount,
      amount_class = excluded.amount_class, transaction_ts = excluded.transaction_ts,
      transaction_date = excluded.transaction_date, status = excluded.status,
      payment_method = excluded.payment_method, source_file = excluded.source_file,
      status_rank = excluded.status_rank
    WHERE (excluded.transaction_ts, excluded.status_rank) >
          (fact_transactions.transaction_ts, fact_transactions.status_rank)`);
  const n = await db.runAndReadAll(`SELECT count(*) FROM stage`);
  rows += Number(n.getRows()[0][0]);
  await db.run(`COMMIT`);
}
console.log(rows);

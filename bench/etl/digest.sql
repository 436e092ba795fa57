-- The warehouse digest bench/etl/run compares across tools (the same figures duckdb_etl.mjs and
-- pandas_etl.py print): runs unchanged on SQLite and PostgreSQL.
SELECT
  (SELECT count(*) FROM fact_transactions) AS facts,
  (SELECT sum(CAST(replace(CAST(amount AS TEXT), '.', '') AS BIGINT)) FROM fact_transactions) AS amount_cents,
  (SELECT count(*) FROM fact_transactions WHERE status IN ('cancelled', 'refunded')) AS cancelled_or_refunded,
  (SELECT count(*) FROM rejected_transactions) AS rejects,
  (SELECT sum(line_number) FROM rejected_transactions) AS reject_lines;

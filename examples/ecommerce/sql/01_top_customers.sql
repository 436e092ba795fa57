-- Top 10 customers by spend. Cancelled and refunded transactions are not revenue.
-- Portable (SQLite and PostgreSQL): money is summed as integer cents, exactly, and printed
-- as text, so both warehouses print the same digits.
WITH revenue AS (
  SELECT customer_id, country,
         CAST(REPLACE(CAST(amount AS TEXT), '.', '') AS BIGINT) AS cents
  FROM fact_transactions
  WHERE status NOT IN ('cancelled', 'refunded')
), per_customer AS (
  SELECT customer_id, MAX(country) AS country, COUNT(*) AS orders,
         CAST(SUM(cents) AS BIGINT) AS spend_cents
  FROM revenue
  GROUP BY customer_id
)
SELECT customer_id, country, orders,
       CAST(spend_cents / 100 AS TEXT) || '.' ||
         CASE WHEN spend_cents % 100 < 10 THEN '0' ELSE '' END ||
         CAST(spend_cents % 100 AS TEXT) AS spend
FROM per_customer
ORDER BY spend_cents DESC, customer_id
LIMIT 10;

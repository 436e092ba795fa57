-- Revenue per month (cancelled and refunded transactions excluded).
WITH revenue AS (
  SELECT SUBSTR(CAST(transaction_date AS TEXT), 1, 7) AS month,
         CAST(REPLACE(CAST(amount AS TEXT), '.', '') AS BIGINT) AS cents
  FROM fact_transactions
  WHERE status NOT IN ('cancelled', 'refunded')
), per_month AS (
  SELECT month, COUNT(*) AS orders, CAST(SUM(cents) AS BIGINT) AS revenue_cents
  FROM revenue
  GROUP BY month
)
SELECT month, orders,
       CAST(revenue_cents / 100 AS TEXT) || '.' ||
         CASE WHEN revenue_cents % 100 < 10 THEN '0' ELSE '' END ||
         CAST(revenue_cents % 100 AS TEXT) AS revenue
FROM per_month
ORDER BY month;

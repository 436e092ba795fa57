-- How revenue transactions split into Small (< 50.00), Medium (< 500.00) and Large.
-- Shares are in tenths of a percent, rounded half up with integer arithmetic.
WITH revenue AS (
  SELECT amount_class, CAST(REPLACE(CAST(amount AS TEXT), '.', '') AS BIGINT) AS cents
  FROM fact_transactions
  WHERE status NOT IN ('cancelled', 'refunded')
), per_class AS (
  SELECT amount_class, CAST(COUNT(*) AS BIGINT) AS orders, CAST(SUM(cents) AS BIGINT) AS revenue_cents
  FROM revenue
  GROUP BY amount_class
), total AS (
  SELECT CAST(SUM(orders) AS BIGINT) AS n FROM per_class
), shared AS (
  SELECT per_class.*, (per_class.orders * 2000 + total.n) / (2 * total.n) AS share_permille
  FROM per_class CROSS JOIN total
)
SELECT amount_class, orders,
       CAST(share_permille / 10 AS TEXT) || '.' || CAST(share_permille % 10 AS TEXT) AS share_pct,
       CAST(revenue_cents / 100 AS TEXT) || '.' ||
         CASE WHEN revenue_cents % 100 < 10 THEN '0' ELSE '' END ||
         CAST(revenue_cents % 100 AS TEXT) AS revenue
FROM shared
ORDER BY CASE amount_class WHEN 'Small' THEN 1 WHEN 'Medium' THEN 2 ELSE 3 END;

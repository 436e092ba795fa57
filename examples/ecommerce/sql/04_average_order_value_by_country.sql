-- Average order value per country, rounded half up to the cent with integer arithmetic
-- ((2 * sum + n) / (2 * n)), so no backend's float or numeric rounding rule is involved.
WITH revenue AS (
  SELECT country, CAST(REPLACE(CAST(amount AS TEXT), '.', '') AS BIGINT) AS cents
  FROM fact_transactions
  WHERE status NOT IN ('cancelled', 'refunded')
), per_country AS (
  SELECT country, CAST(COUNT(*) AS BIGINT) AS orders, CAST(SUM(cents) AS BIGINT) AS revenue_cents
  FROM revenue
  GROUP BY country
), averaged AS (
  SELECT country, orders, revenue_cents,
         (2 * revenue_cents + orders) / (2 * orders) AS aov_cents
  FROM per_country
)
SELECT country, orders,
       CAST(revenue_cents / 100 AS TEXT) || '.' ||
         CASE WHEN revenue_cents % 100 < 10 THEN '0' ELSE '' END ||
         CAST(revenue_cents % 100 AS TEXT) AS revenue,
       CAST(aov_cents / 100 AS TEXT) || '.' ||
         CASE WHEN aov_cents % 100 < 10 THEN '0' ELSE '' END ||
         CAST(aov_cents % 100 AS TEXT) AS average_order_value
FROM averaged
ORDER BY aov_cents DESC, country;

-- The three best-selling products of each category, by units sold (revenue transactions only).
WITH revenue AS (
  SELECT category, product_id, product_name, quantity,
         CAST(REPLACE(CAST(amount AS TEXT), '.', '') AS BIGINT) AS cents
  FROM fact_transactions
  WHERE status NOT IN ('cancelled', 'refunded')
), per_product AS (
  SELECT category, product_id, MAX(product_name) AS product_name,
         CAST(SUM(quantity) AS BIGINT) AS units, CAST(SUM(cents) AS BIGINT) AS revenue_cents
  FROM revenue
  GROUP BY category, product_id
), ranked AS (
  SELECT per_product.*,
         ROW_NUMBER() OVER (PARTITION BY category ORDER BY units DESC, product_id) AS rank_in_category
  FROM per_product
)
SELECT category, rank_in_category, product_id, product_name, units,
       CAST(revenue_cents / 100 AS TEXT) || '.' ||
         CASE WHEN revenue_cents % 100 < 10 THEN '0' ELSE '' END ||
         CAST(revenue_cents % 100 AS TEXT) AS revenue
FROM ranked
WHERE rank_in_category <= 3
ORDER BY category, rank_in_category;

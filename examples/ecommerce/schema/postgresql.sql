-- Warehouse tables for the PostgreSQL backend (embedded into hivehook-etl; idempotent).
CREATE TABLE IF NOT EXISTS dim_products (
  product_id   TEXT PRIMARY KEY,
  product_name TEXT NOT NULL,
  category     TEXT NOT NULL,
  price        NUMERIC NOT NULL,
  supplier_id  TEXT NOT NULL,
  source_file  TEXT NOT NULL,
  loaded_at    TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS dim_customers (
  customer_id      TEXT PRIMARY KEY,
  first_name       TEXT NOT NULL,
  last_name        TEXT NOT NULL,
  email            TEXT NOT NULL,
  membership_level TEXT NOT NULL,
  country          TEXT NOT NULL,
  source_file      TEXT NOT NULL,
  loaded_at        TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS fact_transactions (
  transaction_id   TEXT PRIMARY KEY,
  customer_id      TEXT NOT NULL,
  product_id       TEXT NOT NULL,
  product_name     TEXT NOT NULL,
  category         TEXT NOT NULL,
  supplier_id      TEXT NOT NULL,
  membership_level TEXT NOT NULL,
  country          TEXT NOT NULL,
  quantity         BIGINT NOT NULL,
  unit_price       NUMERIC NOT NULL,
  amount           NUMERIC NOT NULL,
  amount_class     TEXT NOT NULL,
  transaction_ts   TIMESTAMP NOT NULL,
  transaction_date DATE NOT NULL,
  status           TEXT NOT NULL,
  payment_method   TEXT NOT NULL,
  source_file      TEXT NOT NULL,
  loaded_at        TIMESTAMPTZ NOT NULL,
  run_id           TEXT
);
CREATE TABLE IF NOT EXISTS rejected_transactions (
  source_file TEXT NOT NULL,
  line_number BIGINT NOT NULL,
  reason      TEXT NOT NULL,
  raw         TEXT NOT NULL,
  loaded_at   TIMESTAMPTZ NOT NULL,
  run_id      TEXT,
  PRIMARY KEY (source_file, line_number)
);
-- The transform's dimension snapshot (etl/dimension_snapshot.h), kept beside the tables it is
-- built from and keyed by their version: every statement that changes dim_products or
-- dim_customers, by hivehook-etl or by hand, bumps the version; a snapshot of another version is
-- rebuilt.
CREATE TABLE IF NOT EXISTS etl_dimension_version (
  id      INT PRIMARY KEY CHECK (id = 1),
  version BIGINT NOT NULL
);
INSERT INTO etl_dimension_version (id, version) VALUES (1, 0) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS etl_dimension_snapshot (
  id      INT PRIMARY KEY CHECK (id = 1),
  version BIGINT NOT NULL,
  data    BYTEA NOT NULL
);
ALTER TABLE etl_dimension_snapshot ALTER COLUMN data SET STORAGE EXTERNAL;  -- read as is, no decompression
CREATE OR REPLACE FUNCTION etl_bump_dimension_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE etl_dimension_version SET version = version + 1 WHERE id = 1;
  RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER dim_products_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
  ON dim_products FOR EACH STATEMENT EXECUTE FUNCTION etl_bump_dimension_version();
CREATE OR REPLACE TRIGGER dim_customers_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
  ON dim_customers FOR EACH STATEMENT EXECUTE FUNCTION etl_bump_dimension_version();

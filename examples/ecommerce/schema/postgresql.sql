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

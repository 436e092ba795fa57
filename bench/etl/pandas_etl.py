#!/usr/bin/python3
"""The transactions transform done with pandas into SQLite, as a peer for bench/etl/run.

Usage: pandas_etl.py WAREHOUSE.db LANDING   (prints one JSON line: seconds per step, digest)
Loads the dimension snapshots, then every transactions file in date order, one SQLite
transaction per file, with the same reject reasons (in order), enrichment, exact cent amounts
(integer arithmetic on the decimal text, no floats) and the same upsert rule. pandas' CSV parser
cannot report physical line numbers or RFC 4180 violations the way the contract defines them:
malformed rows are those with the wrong field count, line numbers count records (not physical
lines), a `"x"y` field is accepted, an unclosed quote stops the file. Its digest differs from the
contract's (bench_etl.py shows it); it is a speed reference only.
"""
import datetime
import glob
import json
import os
import sqlite3
import sys
import time

import numpy as np
import pandas as pd

STATUS_RANK = {"pending": 0, "completed": 1, "cancelled": 2, "refunded": 3}
COLUMNS = ["transaction_id", "customer_id", "product_id", "quantity", "transaction_ts", "status",
           "payment_method"]


def read_csv(path):
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig",
                       skip_blank_lines=True, on_bad_lines="skip", engine="c")


def price_e4(series):
    parts = series.str.split(".", n=1, expand=True)
    whole = parts[0].astype(np.int64)
    frac = parts[1].fillna("") if parts.shape[1] > 1 else pd.Series([""] * len(series))
    return whole * 10000 + frac.str.ljust(4, "0").astype(np.int64)


def main():
    db_path, landing = sys.argv[1], sys.argv[2]
    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript("""
      CREATE TABLE IF NOT EXISTS fact_transactions (transaction_id TEXT PRIMARY KEY, customer_id TEXT,
        product_id TEXT, product_name TEXT, category TEXT, supplier_id TEXT, membership_level TEXT,
        country TEXT, quantity INTEGER, unit_price TEXT, amount TEXT, amount_class TEXT,
        transaction_ts TEXT, transaction_date TEXT, status TEXT, payment_method TEXT,
        source_file TEXT, status_rank INTEGER) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS rejected_transactions (source_file TEXT, line_number INTEGER,
        reason TEXT, raw TEXT);""")
    t = time.perf_counter()
    steps = {"dims_s": [], "files_s": []}
    def lap(kind):
        nonlocal t
        now = time.perf_counter()
        steps[kind].append(now - t)
        t = now
    products = read_csv(glob.glob(f"{landing}/dim_products/*.csv")[0])
    customers = read_csv(glob.glob(f"{landing}/dim_customers/*.csv")[0])
    products["price_e4"] = price_e4(products["price"])
    products = products.set_index("product_id")
    customers = customers.set_index("customer_id")[["membership_level", "country"]]
    ts_re = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"
    lap("dims_s")

    rows = 0
    for path in sorted(glob.glob(f"{landing}/transactions/**/*.csv", recursive=True)):
        key = os.path.relpath(path, landing)
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig",
                         skip_blank_lines=True, header=None, names=COLUMNS + ["_extra"],
                         on_bad_lines="skip", engine="c").iloc[1:].reset_index(drop=True)
        short = df["payment_method"].isna()
        df = df.fillna("")
        rows += len(df)
        df["line"] = np.arange(2, len(df) + 2)
        reason = pd.Series([None] * len(df), index=df.index, dtype=object)
        def mark(mask, name):
            nonlocal reason
            reason = reason.where(~(mask & reason.isna()), name)
        mark((df["_extra"] != "") | short, "malformed")
        mark(df["transaction_id"] == "", "missing_id")
        mark(~df["customer_id"].isin(customers.index), "unknown_customer")
        mark(~df["product_id"].isin(products.index), "unknown_product")
        qty_ok = df["quantity"].str.fullmatch(r"\d+") & (df["quantity"].str.lstrip("0") != "")
        mark(~qty_ok.fillna(False), "bad_quantity")
        parsed = pd.to_datetime(df["transaction_ts"], format="%Y-%m-%dT%H:%M:%SZ", errors="coerce")
        mark(~df["transaction_ts"].str.match(ts_re) | parsed.isna(), "bad_timestamp")
        mark(~df["status"].isin(STATUS_RANK.keys()), "bad_status")

        good = df[reason.isna()].copy()
        good = good.join(products, on="product_id").join(customers, on="customer_id")
        qty = good["quantity"].astype(np.int64)
        cents = (qty * good["price_e4"] + 50) // 100
        good["amount"] = (cents // 100).astype(str) + "." + (cents % 100).astype(str).str.zfill(2)
        good["amount_class"] = np.where(cents < 5000, "Small", np.where(cents < 50000, "Medium", "Large"))
        good["transaction_date"] = good["transaction_ts"].str[:10]
        good["status_rank"] = good["status"].map(STATUS_RANK)
        good["quantity"] = qty
        # In-file winner: highest (ts, rank), earliest line on ties.
        good = good.sort_values(["transaction_id", "transaction_ts", "status_rank", "line"],
                                ascending=[True, False, False, True])
        good = good.drop_duplicates("transaction_id", keep="first")
        records = list(zip(good["transaction_id"], good["customer_id"], good["product_id"],
                           good["product_name"], good["category"], good["supplier_id"],
                           good["membership_level"], good["country"], good["quantity"].tolist(),
                           good["price"], good["amount"], good["amount_class"],
                           good["transaction_ts"], good["transaction_date"], good["status"],
                           good["payment_method"], [key] * len(good), good["status_rank"].tolist()))
        bad = df[reason.notna()]
        raw = bad[COLUMNS].agg(",".join, axis=1) if len(bad) else []
        db.execute("BEGIN IMMEDIATE")
        db.execute("DELETE FROM rejected_transactions WHERE source_file = ?", (key,))
        db.executemany("INSERT INTO rejected_transactions VALUES (?,?,?,?)",
                       zip([key] * len(bad), bad["line"].tolist(), reason[reason.notna()], raw))
        db.executemany("""INSERT INTO fact_transactions VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
          ON CONFLICT (transaction_id) DO UPDATE SET customer_id=excluded.customer_id,
          product_id=excluded.product_id, product_name=excluded.product_name,
          category=excluded.category, supplier_id=excluded.supplier_id,
          membership_level=excluded.membership_level, country=excluded.country,
          quantity=excluded.quantity, unit_price=excluded.unit_price, amount=excluded.amount,
          amount_class=excluded.amount_class, transaction_ts=excluded.transaction_ts,
          transaction_date=excluded.transaction_date, status=excluded.status,
          payment_method=excluded.payment_method, source_file=excluded.source_file,
          status_rank=excluded.status_rank
          WHERE (excluded.transaction_ts, excluded.status_rank) >
                (fact_transactions.transaction_ts, fact_transactions.status_rank)""", records)
        db.execute("COMMIT")
        lap("files_s")
    d = db.execute("""SELECT (SELECT count(*) FROM fact_transactions),
        (SELECT sum(CAST(replace(amount, '.', '') AS INTEGER)) FROM fact_transactions),
        (SELECT count(*) FROM fact_transactions WHERE status IN ('cancelled', 'refunded')),
        (SELECT count(*) FROM rejected_transactions),
        (SELECT sum(line_number) FROM rejected_transactions)""").fetchone()
    steps["digest"] = dict(zip(["facts", "amount_cents", "cancelled_or_refunded", "rejects",
                                "reject_lines"], d))
    steps["rows"] = rows
    print(json.dumps(steps))


if __name__ == "__main__":
    main()

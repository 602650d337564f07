"""Posts journal entries into Tryton on SQLite and prints what it measured.

Driven by `cargo xtask bench --compare tryton` (keel-bench), which installs
trytond and its account module into a virtualenv and passes:

    post.py DATA_DIR ENTRIES_JSON

ENTRIES_JSON holds the same entries Keel posted (date, memo, lines with the
Keel account codes and a debit or a credit). Each is created and posted in
its own transaction through Tryton's ORM, in-process: no RPC layer, so the
comparison favours Tryton. SQLite runs with its defaults (synchronous=FULL
in rollback-journal mode): every commit is durable, as Keel's are.
"""

import datetime
import json
import math
import os
import subprocess
import sys
import time
from decimal import Decimal

DB = "bench"
# Entries posted before timing starts, so caches are warm (as Keel's are).
WARM_UP = 10


def main():
    data_dir, entries_path = sys.argv[1], sys.argv[2]
    os.makedirs(data_dir, exist_ok=True)
    os.environ["TRYTOND_DATABASE__URI"] = "sqlite://"
    os.environ["TRYTOND_DATABASE__PATH"] = data_dir
    passfile = os.path.join(data_dir, "admin-password")
    with open(passfile, "w") as f:
        f.write("bench-admin-password\n")
    os.environ["TRYTONPASSFILE"] = passfile
    open(os.path.join(data_dir, DB + ".sqlite"), "a").close()

    progress("creating a Tryton database with the account module (trytond-admin)")
    admin = os.path.join(os.path.dirname(sys.executable), "trytond-admin")
    subprocess.run(
        [admin, "-d", DB, "--all", "--email", "admin@example.com", "-u", "account",
         "--activate-dependencies"],
        check=True, stdout=subprocess.DEVNULL)

    progress("setting up a company, a fiscal year 2026 and the minimal chart")
    accounts, journal, company, user = setup()
    entries = json.load(open(entries_path))
    if len(entries) <= WARM_UP:
        sys.exit(f"post more than {WARM_UP} entries (the first {WARM_UP} warm up)")
    progress(f"posting {len(entries)} entries, one transaction each")

    from trytond.pool import Pool
    from trytond.transaction import Transaction, TransactionError
    import trytond

    pool = Pool(DB)
    latencies = []
    started = None
    # Tables a posting must lock, learnt on the first entry as Tryton's
    # dispatcher learns them (retrying the transaction); kept for the rest,
    # which spares Tryton the retry it would pay on every request.
    extras = {}
    for n, entry in enumerate(entries):
        if n == WARM_UP:
            started = time.perf_counter()
        sent = time.perf_counter()
        while True:
            with Transaction().start(DB, user, context={"company": company}, **extras) as transaction:
                try:
                    post(pool, entry, accounts, journal, company)
                except TransactionError as error:
                    transaction.rollback()
                    error.fix(extras)
                    continue
            break
        if started is not None:
            latencies.append(time.perf_counter() - sent)
    elapsed = time.perf_counter() - started

    with Transaction().start(DB, user, context={"company": company}):
        Move = pool.get("account.move")
        posted = Move.search_count([("state", "=", "posted")])
    if posted != len(entries):
        sys.exit(f"Tryton holds {posted} posted moves, expected {len(entries)}")

    latencies.sort()
    rank = lambda q: latencies[max(1, math.ceil(q * len(latencies))) - 1]
    print(json.dumps({
        "version": trytond.__version__,
        "entries": len(latencies),
        "seconds": elapsed,
        "per_second": len(latencies) / elapsed,
        "median_ms": rank(0.5) * 1000,
        "p99_ms": rank(0.99) * 1000,
    }))


def post(pool, entry, accounts, journal, company):
    """Creates and posts one move: Keel's `POST /entries`."""
    Move = pool.get("account.move")
    Period = pool.get("account.period")
    date = datetime.date.fromisoformat(entry["date"])
    lines = [
        {
            "account": accounts[line["account"]],
            "debit": Decimal(line.get("debit", "0")),
            "credit": Decimal(line.get("credit", "0")),
        }
        for line in entry["lines"]
    ]
    move, = Move.create([{
        "journal": journal,
        "period": Period.find(company, date=date),
        "date": date,
        "description": entry["memo"],
        "lines": [("create", lines)],
    }])
    Move.post([move])


def setup():
    """The company, fiscal year, chart and journal, through Tryton's own
    test tools; returns Keel account codes mapped to Tryton account ids."""
    from proteus import Model, config
    from trytond.modules.account.tests.tools import create_chart, create_fiscalyear
    from trytond.modules.company.tests.tools import create_company, get_company

    config.set_trytond(DB)
    create_company()
    company = get_company()
    fiscalyear = create_fiscalyear(
        company, (datetime.date(2026, 1, 1), datetime.date(2026, 12, 31)))
    fiscalyear.click("create_period")
    create_chart(company)

    Account = Model.get("account.account")
    usable = [
        a for a in Account.find([("type", "!=", None), ("closed", "!=", True)], order=[("code", "ASC")])
        if not a.party_required
    ]
    keel_codes = ["1000", "1100", "1200", "1300", "2000", "2100", "3000", "4000", "4100",
                  "5000", "6000", "6100"]
    if len(usable) < len(keel_codes):
        sys.exit(f"Tryton's chart has only {len(usable)} accounts usable without a party")
    accounts = {code: usable[i].id for i, code in enumerate(keel_codes)}
    Journal = Model.get("account.journal")
    journal, = Journal.find([("type", "=", "general")], limit=1)
    User = Model.get("res.user")
    admin, = User.find([("login", "=", "admin")])
    return accounts, journal.id, company.id, admin.id


def progress(line):
    print(f"    tryton: {line}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()

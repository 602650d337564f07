"""The README's ledger walkthrough, driven through a typed client that
openapi-python-client generated from the demo tenant's OpenAPI document.

`cargo xtask test` (its API step) generates the client package
`keel_demo` and runs this with it on the path:

    python ledger_walkthrough.py http://127.0.0.1:PORT/api/demo TOKEN

It fails (an AssertionError, or the client's UnexpectedStatus) if the
document does not describe what the kernel answers.
"""

import datetime
import sys
from decimal import Decimal

from keel_demo import AuthenticatedClient
from keel_demo.api.finance import (
    finance_accounts_balance,
    finance_chart_load,
    finance_entries_list,
    finance_entries_post,
    finance_reports_trial_balance,
)
from keel_demo.models import (
    FinanceAccountBalance,
    FinanceChartLoaded,
    FinanceEntry,
    FinanceEntryPage,
    FinanceLoadTemplate,
    FinanceNewEntry,
    FinanceNewLine,
    FinanceTrialBalanceAnswer,
    Problem,
)


def amount(value):
    """A decimal answer (a string on the wire) as an exact Decimal."""
    return Decimal(str(value))


def main(base_url, token):
    client = AuthenticatedClient(base_url=base_url, token=token, raise_on_unexpected_status=True)

    loaded = finance_chart_load.sync(client=client, template="starter", body=FinanceLoadTemplate(currency="EUR"))
    assert isinstance(loaded, FinanceChartLoaded), loaded
    assert {"1100", "3000", "6100"} <= set(loaded.created), loaded.created

    def post(date, memo, lines, reference=""):
        body = FinanceNewEntry(
            date=date,
            memo=memo,
            reference=reference,
            lines=[FinanceNewLine(account=account, **{side: value}) for account, side, value in lines],
        )
        return finance_entries_post.sync_detailed(client=client, body=body)

    first = post(datetime.date(2026, 11, 2), "Owner investment", [("1100", "debit", "5000.00"), ("3000", "credit", "5000.00")])
    assert first.status_code == 201 and isinstance(first.parsed, FinanceEntry), first
    second = post(datetime.date(2026, 11, 5), "November rent", [("6100", "debit", "1200.00"), ("1100", "credit", "1200.00")], "LEASE-7")
    assert isinstance(second.parsed, FinanceEntry), second
    assert second.parsed.number == first.parsed.number + 1
    assert second.parsed.journal_number.startswith("GEN/2026/")
    assert amount(second.parsed.total) == Decimal("1200.00")

    # The plugin's own rule: an unbalanced entry is refused, nothing stored.
    unbalanced = post(datetime.date(2026, 11, 6), "Typo", [("6300", "debit", "80.00"), ("1100", "credit", "8.00")])
    assert unbalanced.status_code == 422 and isinstance(unbalanced.parsed, Problem), unbalanced
    assert "unbalanced" in unbalanced.parsed.detail

    # What the typed client cannot send, the kernel refuses against the
    # contract before the plugin runs, naming each field by its pointer.
    odd = {"date": "2026-11-31", "colour": "red", "lines": [{"account": "1100", "debit": 1}]}
    refused = client.get_httpx_client().post("/finance/entries", json=odd)
    assert refused.status_code == 422, refused.text
    problem = Problem.from_dict(refused.json())
    assert problem.type_ == "urn:keel:problem:invalid-request", problem
    assert [error.pointer for error in problem.errors] == ["/colour", "/date", "/lines/0/debit"], problem.errors

    now = finance_accounts_balance.sync(client=client, code="1100")
    assert isinstance(now, FinanceAccountBalance), now
    assert amount(now.balance) == Decimal("3800.00") and now.currency == "EUR"
    then = finance_accounts_balance.sync(client=client, code="1100", as_of=datetime.date(2026, 11, 3))
    assert amount(then.balance) == Decimal("5000.00") and then.as_of == datetime.date(2026, 11, 3)

    rent = finance_entries_list.sync(client=client, account="6100")
    assert isinstance(rent, FinanceEntryPage), rent
    assert [entry.memo for entry in rent.entries] == ["November rent"]

    trial = finance_reports_trial_balance.sync(client=client)
    assert isinstance(trial, FinanceTrialBalanceAnswer), trial
    [totals] = trial.totals
    assert totals.balanced and amount(totals.debit) == amount(totals.credit) == Decimal("5000.00"), totals
    rows = {row.account: (amount(row.debit), amount(row.credit)) for row in trial.rows}
    assert rows == {
        "1100": (Decimal("3800.00"), Decimal("0")),
        "3000": (Decimal("0"), Decimal("5000.00")),
        "6100": (Decimal("1200.00"), Decimal("0")),
    }, rows
    print(f"ledger walkthrough through the generated client: {len(trial.rows)} accounts, trial balance {totals.debit} = {totals.credit}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

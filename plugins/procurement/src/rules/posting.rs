//! What a matched supplier invoice posts to the ledger: the goods received
//! not invoiced it clears, at the order's prices, and the difference the
//! supplier charged, to the price variance account. The ledger credits the
//! supplier's payable with their sum.

use rust_decimal::Decimal;

use super::order::Billed;

/// A debit or a credit of one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    /// The account's code.
    pub account: String,
    /// Which side the amount is on.
    pub side: Side,
    /// More than zero.
    pub amount: Decimal,
}

/// The side of an account an amount is posted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Left: what the company has or spent.
    Debit,
    /// Right: what it owes or earned.
    Credit,
}

/// The lines an invoice billing `billed` posts besides the payable: the
/// cleared goods debited to `received_account`; a variance above the
/// order's prices debited to `variance_account`, one below credited to it.
/// Zero amounts post nothing.
pub fn invoice_postings(
    billed: Billed,
    received_account: &str,
    variance_account: &str,
) -> Vec<Posting> {
    let mut postings = Vec::with_capacity(2);
    let mut post = |account: &str, side, amount: Decimal| {
        if amount > Decimal::ZERO {
            postings.push(Posting { account: account.to_owned(), side, amount });
        }
    };
    post(received_account, Side::Debit, billed.cleared);
    if billed.variance >= Decimal::ZERO {
        post(variance_account, Side::Debit, billed.variance);
    } else {
        post(variance_account, Side::Credit, -billed.variance);
    }
    postings
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn posted(cleared: &str, variance: &str) -> Vec<(String, Side, String)> {
        let billed = Billed { cleared: d(cleared), variance: d(variance) };
        invoice_postings(billed, "2150", "5100")
            .into_iter()
            .map(|p| (p.account, p.side, p.amount.to_string()))
            .collect()
    }

    #[test]
    fn an_invoice_clears_the_goods_and_posts_the_variance_to_its_side() {
        let line =
            |account: &str, side, amount: &str| (account.to_owned(), side, amount.to_owned());
        assert_eq!(
            posted("100.00", "2.00"),
            [line("2150", Side::Debit, "100.00"), line("5100", Side::Debit, "2.00")]
        );
        assert_eq!(
            posted("20.00", "-0.30"),
            [line("2150", Side::Debit, "20.00"), line("5100", Side::Credit, "0.30")]
        );
        assert_eq!(posted("100.00", "0.00"), [line("2150", Side::Debit, "100.00")]);
        assert_eq!(posted("0.00", "0.00"), []);
    }

    #[test]
    fn the_postings_sum_to_what_the_supplier_is_owed() {
        for (cleared, variance) in [("100.00", "2.00"), ("0.11", "-0.02"), ("5.00", "0")] {
            let billed = Billed { cleared: d(cleared), variance: d(variance) };
            let net: Decimal = invoice_postings(billed, "2150", "5100")
                .iter()
                .map(|p| match p.side {
                    Side::Debit => p.amount,
                    Side::Credit => -p.amount,
                })
                .sum();
            assert_eq!(net, billed.amount(), "{cleared} {variance}");
        }
    }
}

//! The journal the benchmark posts: balanced entries of 2 to 4 lines,
//! generated from their number, and the trial balance they must add up to.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context as _, bail};

/// Accounts of the finance plugin's `starter` chart that entries use.
pub(crate) const ACCOUNTS: [&str; 12] = [
    "1000", "1100", "1200", "1300", "2000", "2100", "3000", "4000", "4100", "5000", "6000", "6100",
];

/// A generated entry: its JSON body and its lines as (account, signed cents).
pub(crate) struct Generated {
    pub(crate) body: String,
    pub(crate) lines: Vec<(usize, i64)>,
}

/// Entry `n`: the same `n` always gives the same entry.
pub(crate) fn entry(n: u64) -> Generated {
    let mut seed = n;
    let mut next = move || splitmix64(&mut seed);
    let n_lines = 2 + (next() % 3) as usize;
    let mut lines: Vec<(usize, i64)> = Vec::with_capacity(n_lines);
    // Debits first, then credits that sum to them.
    let n_debits = n_lines / 2;
    let mut total = 0;
    for _ in 0..n_debits {
        let cents = 100 + (next() % 500_000) as i64;
        total += cents;
        lines.push(((next() % ACCOUNTS.len() as u64) as usize, cents));
    }
    let n_credits = n_lines - n_debits;
    let mut left = total;
    for i in 0..n_credits {
        let cents = if i + 1 == n_credits { left } else { left / 2 };
        left -= cents;
        lines.push(((next() % ACCOUNTS.len() as u64) as usize, -cents));
    }
    let month = 1 + next() % 12;
    let day = 1 + next() % 28;
    let json_lines: Vec<serde_json::Value> = lines
        .iter()
        .map(|&(account, cents)| {
            let side = if cents > 0 { "debit" } else { "credit" };
            serde_json::json!({ "account": ACCOUNTS[account], side: money(cents.abs()) })
        })
        .collect();
    let body = serde_json::json!({
        "date": format!("2026-{month:02}-{day:02}"),
        "memo": format!("benchmark entry {n}"),
        "reference": format!("BENCH-{n}"),
        "lines": json_lines,
    })
    .to_string();
    Generated { body, lines }
}

/// The next number of a splitmix64 sequence.
pub(crate) fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Cents as a decimal string: 12345 -> "123.45".
pub(crate) fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100)
}

/// A decimal string as cents; more than two decimals is an error.
pub(crate) fn cents(text: &str) -> anyhow::Result<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let fraction = fraction.trim_end_matches('0');
    if fraction.len() > 2 {
        bail!("{text:?} has more than two decimals");
    }
    let whole: i64 = whole.parse().with_context(|| format!("{text:?} is not a decimal"))?;
    let fraction: i64 = format!("{fraction:0<2}").parse().with_context(|| format!("{text:?}"))?;
    let value = whole * 100 + fraction;
    Ok(if negative { -value } else { value })
}

/// What every posted entry added up to: net cents per account, and lines.
#[derive(Default)]
pub(crate) struct Books {
    nets: Mutex<[i64; ACCOUNTS.len()]>,
    n_lines: AtomicU64,
    n_entries: AtomicU64,
}

impl Books {
    pub(crate) fn add(&self, lines: &[(usize, i64)]) {
        let mut nets = self.nets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for &(account, cents) in lines {
            nets[account] += cents;
        }
        self.n_lines.fetch_add(lines.len() as u64, Ordering::Relaxed);
        self.n_entries.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn lines(&self) -> u64 {
        self.n_lines.load(Ordering::Relaxed)
    }

    pub(crate) fn entries(&self) -> u64 {
        self.n_entries.load(Ordering::Relaxed)
    }

    /// Checks a trial balance answer against what was posted.
    pub(crate) fn check(&self, report: &serde_json::Value) -> anyhow::Result<()> {
        let nets = *self.nets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let rows = report["rows"].as_array().context("the trial balance has no rows")?;
        for (code, net) in ACCOUNTS.iter().zip(nets) {
            let row = rows.iter().find(|row| row["account"] == *code);
            let shown = match row {
                Some(row) => {
                    let amount = |side: &str| {
                        row[side]
                            .as_str()
                            .map_or(Ok(0), cents)
                            .with_context(|| format!("{side} of {code}"))
                    };
                    amount("debit")? - amount("credit")?
                }
                None => 0,
            };
            if shown != net {
                bail!(
                    "the trial balance shows {} for account {code}; the benchmark posted {}",
                    money(shown),
                    money(net)
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_balance_and_have_two_to_four_lines() {
        for n in 0..1000 {
            let generated = entry(n);
            assert!((2..=4).contains(&generated.lines.len()), "{n}");
            assert_eq!(generated.lines.iter().map(|(_, c)| c).sum::<i64>(), 0, "{n}");
            assert!(generated.lines.iter().all(|&(_, c)| c != 0));
            let body: serde_json::Value = serde_json::from_str(&generated.body).unwrap();
            assert_eq!(body["lines"].as_array().unwrap().len(), generated.lines.len());
        }
        assert_eq!(entry(7).body, entry(7).body);
    }

    #[test]
    fn money_round_trips() {
        for value in [0, 5, 100, 12_345, -12_345, 99] {
            assert_eq!(cents(&money(value)).unwrap(), value);
        }
        assert_eq!(cents("12.5").unwrap(), 1250);
        assert_eq!(cents("12").unwrap(), 1200);
        assert!(cents("1.005").is_err());
        assert!(cents("x").is_err());
    }

    #[test]
    fn a_wrong_trial_balance_is_caught() {
        let books = Books::default();
        books.add(&[(0, 1000), (7, -1000)]);
        let right = serde_json::json!({ "rows": [
            { "account": "1000", "debit": "10.00", "credit": "0" },
            { "account": "4000", "debit": "0", "credit": "10.00" },
        ]});
        books.check(&right).unwrap();
        let wrong =
            serde_json::json!({ "rows": [{ "account": "1000", "debit": "10.00", "credit": "0" }]});
        assert!(books.check(&wrong).is_err());
    }
}

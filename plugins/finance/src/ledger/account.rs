//! The chart of accounts.

use keel_values::code::{check_account, check_currency};

use super::RuleError;

/// The five account types of double-entry bookkeeping.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum AccountType {
    /// What the organisation owns; increased by debits.
    Asset,
    /// What it owes; increased by credits.
    Liability,
    /// The owners' stake; increased by credits.
    Equity,
    /// Revenue; increased by credits.
    Income,
    /// Costs; increased by debits.
    Expense,
}

/// Which side increases an account's balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// Debits increase the balance.
    Debit,
    /// Credits increase the balance.
    Credit,
}

impl AccountType {
    /// Parses the lower-case name.
    pub fn parse(text: &str) -> Result<Self, RuleError> {
        Ok(match text {
            "asset" => Self::Asset,
            "liability" => Self::Liability,
            "equity" => Self::Equity,
            "income" => Self::Income,
            "expense" => Self::Expense,
            _ => {
                return Err(RuleError::new(format!(
                    "account type {text:?} is not one of asset, liability, equity, income, expense"
                )));
            }
        })
    }

    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Asset => "asset",
            Self::Liability => "liability",
            Self::Equity => "equity",
            Self::Income => "income",
            Self::Expense => "expense",
        }
    }

    /// The side that increases accounts of this type.
    pub fn normal_side(self) -> Side {
        match self {
            Self::Asset | Self::Expense => Side::Debit,
            Self::Liability | Self::Equity | Self::Income => Side::Credit,
        }
    }
}

/// An account of the chart.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct Account {
    /// The account code, such as `1000`.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: AccountType,
    /// Its ISO 4217 currency code.
    pub currency: String,
}

/// An account as a client submits it, before validation.
#[derive(Debug, Clone, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    /// The code.
    pub code: String,
    /// The name.
    pub name: String,
    /// The type, by name.
    #[serde(rename = "type")]
    #[schemars(with = "AccountType")]
    pub kind: String,
    /// The currency code.
    pub currency: String,
}

/// Longest account name.
const NAME_BYTES_MAX: usize = 200;

impl NewAccount {
    /// Validates the submitted account.
    pub fn validate(self) -> Result<Account, RuleError> {
        check_account(&self.code)?;
        let name = self.name.trim();
        if name.is_empty() || name.len() > NAME_BYTES_MAX {
            return Err(RuleError::new(format!(
                "account name must be 1 to {NAME_BYTES_MAX} bytes"
            )));
        }
        check_currency(&self.currency)?;
        Ok(Account {
            code: self.code,
            name: name.to_owned(),
            kind: AccountType::parse(&self.kind)?,
            currency: self.currency,
        })
    }
}

impl Account {
    /// Checks the account may be kept in its currency in books kept in
    /// `company`: only an asset or a liability (a bank account, a loan) may
    /// be kept in a foreign currency; results and equity are the company's.
    pub fn check_currency(&self, company: &str) -> Result<(), RuleError> {
        if self.currency != company
            && !matches!(self.kind, AccountType::Asset | AccountType::Liability)
        {
            return Err(RuleError::new(format!(
                "account {} is {}: it is kept in the company's currency {company}, not {}; only assets and liabilities may be kept in a foreign currency",
                self.code,
                self.kind.as_str(),
                self.currency
            )));
        }
        Ok(())
    }
}

/// The chart templates that can be loaded in one call.
pub const TEMPLATES: &[&str] = &["starter"];

/// The accounts of a chart template, in `currency`.
pub fn template(name: &str, currency: &str) -> Result<Vec<Account>, RuleError> {
    check_currency(currency)?;
    let rows: &[(&str, &str, AccountType)] = match name {
        "starter" => &STARTER,
        _ => {
            return Err(RuleError::new(format!(
                "chart template {name:?} does not exist; available: {}",
                TEMPLATES.join(", ")
            )));
        }
    };
    Ok(rows
        .iter()
        .map(|(code, name, kind)| Account {
            code: (*code).to_owned(),
            name: (*name).to_owned(),
            kind: *kind,
            currency: currency.to_owned(),
        })
        .collect())
}

/// A small business's chart: enough to run the books from day one.
const STARTER: [(&str, &str, AccountType); 26] = [
    ("1000", "Cash", AccountType::Asset),
    ("1100", "Bank", AccountType::Asset),
    ("1200", "Accounts receivable", AccountType::Asset),
    ("1300", "Inventory", AccountType::Asset),
    ("1400", "Prepaid expenses", AccountType::Asset),
    ("1500", "Equipment", AccountType::Asset),
    ("1510", "Accumulated depreciation", AccountType::Asset),
    ("2000", "Accounts payable", AccountType::Liability),
    ("2100", "VAT payable", AccountType::Liability),
    ("2200", "Accrued liabilities", AccountType::Liability),
    ("2300", "Payroll liabilities", AccountType::Liability),
    ("2500", "Loans", AccountType::Liability),
    ("3000", "Owner's capital", AccountType::Equity),
    ("3100", "Retained earnings", AccountType::Equity),
    ("4000", "Sales revenue", AccountType::Income),
    ("4100", "Service revenue", AccountType::Income),
    ("4900", "Other income", AccountType::Income),
    ("4950", "Exchange gains", AccountType::Income),
    ("5000", "Cost of goods sold", AccountType::Expense),
    ("6000", "Salaries and wages", AccountType::Expense),
    ("6100", "Rent", AccountType::Expense),
    ("6200", "Utilities", AccountType::Expense),
    ("6300", "Office supplies", AccountType::Expense),
    ("6400", "Depreciation", AccountType::Expense),
    ("6900", "Bank fees", AccountType::Expense),
    ("6950", "Exchange losses", AccountType::Expense),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn new(code: &str, name: &str, kind: &str, currency: &str) -> NewAccount {
        NewAccount {
            code: code.into(),
            name: name.into(),
            kind: kind.into(),
            currency: currency.into(),
        }
    }

    #[test]
    fn valid_accounts() {
        let account = new("1000", " Cash ", "asset", "EUR").validate().unwrap();
        assert_eq!(account.name, "Cash");
        assert_eq!(account.kind.normal_side(), Side::Debit);
        assert_eq!(AccountType::Income.normal_side(), Side::Credit);
    }

    #[test]
    fn invalid_accounts() {
        for (account, needle) in [
            (new("", "Cash", "asset", "EUR"), "code"),
            (new("10/00", "Cash", "asset", "EUR"), "code"),
            (new(&"1".repeat(21), "Cash", "asset", "EUR"), "code"),
            (new("1000", "  ", "asset", "EUR"), "name"),
            (new("1000", "Cash", "assets", "EUR"), "type"),
            (new("1000", "Cash", "asset", "eur"), "currency"),
            (new("1000", "Cash", "asset", "EURO"), "currency"),
        ] {
            let err = account.validate().unwrap_err().0;
            assert!(err.contains(needle), "{err} should mention {needle}");
        }
    }

    #[test]
    fn starter_template_is_well_formed() {
        let accounts = template("starter", "EUR").unwrap();
        assert_eq!(accounts.len(), STARTER.len());
        let mut codes: Vec<_> = accounts.iter().map(|a| a.code.as_str()).collect();
        codes.dedup();
        assert_eq!(codes.len(), accounts.len(), "codes are unique and sorted");
        assert!(accounts.iter().all(|a| check_account(&a.code).is_ok()));
        assert!(template("nope", "EUR").is_err());
        assert!(template("starter", "x").is_err());
    }

    #[test]
    fn only_assets_and_liabilities_are_kept_in_a_foreign_currency() {
        let bank = new("1110", "Bank USD", "asset", "USD").validate().unwrap();
        assert!(bank.check_currency("EUR").is_ok());
        let sales = new("4010", "Sales USD", "income", "USD").validate().unwrap();
        let err = sales.check_currency("EUR").unwrap_err().0;
        assert!(err.contains("only assets and liabilities"), "{err}");
        assert!(sales.check_currency("USD").is_ok());
    }
}

//! Journals: the books entries are kept in (general, sales, purchases,
//! bank, cash), each numbering its entries gaplessly per fiscal year, such
//! as `SAL/2026/0001`.

use super::RuleError;

/// The journal an entry is kept in when it names none.
pub const GENERAL: &str = "GEN";
/// Customer invoices and credit notes.
pub const SALES: &str = "SAL";
/// Supplier invoices.
pub const PURCHASES: &str = "PUR";
/// Payments and receipts through the bank.
pub const BANK: &str = "BNK";

/// What a journal keeps.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    General,
    Sales,
    Purchases,
    Bank,
    Cash,
}

/// A journal, as stored and returned.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct Journal {
    /// Such as `SAL`; the first part of its entries' journal numbers.
    pub code: String,
    pub name: String,
    pub kind: Kind,
}

/// A journal as a client creates it.
#[derive(Debug, Clone, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewJournal {
    pub code: String,
    pub name: String,
    pub kind: Kind,
}

/// The journals every ledger has: general, sales, purchases, bank and cash.
pub fn built_in() -> Vec<Journal> {
    let journal =
        |code: &str, name: &str, kind| Journal { code: code.into(), name: name.into(), kind };
    vec![
        journal(GENERAL, "General", Kind::General),
        journal(SALES, "Sales", Kind::Sales),
        journal(PURCHASES, "Purchases", Kind::Purchases),
        journal(BANK, "Bank", Kind::Bank),
        journal("CSH", "Cash", Kind::Cash),
    ]
}

/// Checks a journal code: 1 to 8 upper-case letters and digits, such as
/// `SAL` or `BNK2`.
pub fn check_code(code: &str) -> Result<(), RuleError> {
    let allowed = |b: u8| b.is_ascii_uppercase() || b.is_ascii_digit();
    if code.is_empty() || code.len() > 8 || !code.bytes().all(allowed) {
        return Err(RuleError::new(format!(
            "journal code {code:?} must be 1 to 8 upper-case letters and digits, such as SAL"
        )));
    }
    Ok(())
}

impl NewJournal {
    /// Checks a new journal: a code (no built-in one's) and a name.
    pub fn check(self) -> Result<Journal, RuleError> {
        check_code(&self.code)?;
        if built_in().iter().any(|j| j.code == self.code) {
            return Err(RuleError::new(format!("journal {} is built in", self.code)));
        }
        let name = self.name.trim();
        if name.is_empty() || name.len() > 100 {
            return Err(RuleError::new("a journal needs a name of 1 to 100 bytes"));
        }
        Ok(Journal { code: self.code, name: name.to_owned(), kind: self.kind })
    }
}

/// The sequence that numbers `journal`'s entries in fiscal year `year`:
/// a kernel sequence name, lower case (a journal code has no `-`, so the
/// two never run together).
pub fn sequence(journal: &str, year: &str) -> String {
    format!("journal-{}-{}", journal.to_ascii_lowercase(), year.to_ascii_lowercase())
}

/// The `n`th entry's number in `journal` and `year`, such as
/// `SAL/2026/0001`.
pub fn number(journal: &str, year: &str, n: u64) -> String {
    format!("{journal}/{year}/{n:04}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_numbered_per_journal_and_year() {
        assert_eq!(number("SAL", "2026", 1), "SAL/2026/0001");
        assert_eq!(number("GEN", "FY27", 12_345), "GEN/FY27/12345");
        assert_ne!(sequence("SAL", "2026"), sequence("SAL", "2027"));
        assert_ne!(sequence("SAL", "2026"), sequence("PUR", "2026"));
        assert_eq!(sequence("BNK2", "FY-2026"), "journal-bnk2-fy-2026");
        assert_ne!(sequence("A", "B-C"), sequence("AB", "C"));
    }

    #[test]
    fn a_new_journal_has_a_code_of_its_own_and_a_name() {
        let new = |code: &str, name: &str| NewJournal {
            code: code.into(),
            name: name.into(),
            kind: Kind::Bank,
        };
        assert_eq!(new("BNK2", " Second bank ").check().unwrap().name, "Second bank");
        assert!(new("SAL", "Sales again").check().unwrap_err().0.contains("built in"));
        assert!(new("bnk", "Bank").check().unwrap_err().0.contains("journal code"));
        assert!(new("BNK-2", "Bank").check().unwrap_err().0.contains("journal code"));
        assert!(new("BANKACCOUNT", "Bank").check().unwrap_err().0.contains("1 to 8"));
        assert!(new("BNK2", " ").check().unwrap_err().0.contains("needs a name"));
        assert_eq!(built_in().len(), 5);
    }
}

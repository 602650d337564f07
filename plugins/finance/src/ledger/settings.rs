//! The ledger's settings: the company's currency, which its books are kept
//! in, and the accounts exchange differences post to.

use keel_values::code::{check_account, check_currency};
use serde::{Deserialize, Serialize};

use super::RuleError;
use super::fx::DifferenceAccounts;

/// The income account exchange gains go to unless set otherwise.
pub const EXCHANGE_GAIN_ACCOUNT: &str = "4950";
/// The expense account exchange losses go to unless set otherwise.
pub const EXCHANGE_LOSS_ACCOUNT: &str = "6950";

/// The settings, as stored and returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Settings {
    /// The company's currency: every balance and statement is in it.
    pub currency: String,
    /// Credited with realised and unrealised exchange gains.
    pub exchange_gain_account: String,
    /// Debited with realised and unrealised exchange losses.
    pub exchange_loss_account: String,
}

/// A change to the settings; what it leaves out stays.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsChange {
    /// The company's currency, such as `EUR`; it cannot change once
    /// accounts exist.
    #[serde(default)]
    pub currency: Option<String>,
    /// The income account exchange gains go to.
    #[serde(default)]
    pub exchange_gain_account: Option<String>,
    /// The expense account exchange losses go to.
    #[serde(default)]
    pub exchange_loss_account: Option<String>,
}

impl Settings {
    /// The settings of a ledger kept in `currency`, with the default
    /// exchange accounts.
    pub fn new(currency: String) -> Self {
        Self {
            currency,
            exchange_gain_account: EXCHANGE_GAIN_ACCOUNT.to_owned(),
            exchange_loss_account: EXCHANGE_LOSS_ACCOUNT.to_owned(),
        }
    }

    /// Where exchange differences go.
    pub fn difference_accounts(&self) -> DifferenceAccounts {
        DifferenceAccounts {
            gain: self.exchange_gain_account.clone(),
            loss: self.exchange_loss_account.clone(),
        }
    }
}

/// Whether a finance version (`0.3.0`) is from before the company's
/// currency was kept, 0.4.0.
pub fn before_currencies(version: &str) -> bool {
    let parts: Vec<u64> = version.split('.').map(|p| p.parse().unwrap_or(0)).collect();
    parts.as_slice() < [0, 4, 0].as_slice()
}

impl SettingsChange {
    /// `current` changed as asked. The currency changes only while the
    /// chart is empty (`charted` false): its accounts, and so the books,
    /// are kept in it.
    pub fn apply(self, current: Settings, charted: bool) -> Result<Settings, RuleError> {
        let mut next = current;
        if let Some(currency) = self.currency {
            check_currency(&currency)?;
            if charted && currency != next.currency {
                return Err(RuleError::new(format!(
                    "the chart of accounts is kept in {}; the company's currency cannot change once accounts exist",
                    next.currency
                )));
            }
            next.currency = currency;
        }
        for (field, value) in [
            (&mut next.exchange_gain_account, self.exchange_gain_account),
            (&mut next.exchange_loss_account, self.exchange_loss_account),
        ] {
            if let Some(code) = value {
                check_account(&code)?;
                *field = code;
            }
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_before_currencies() {
        assert!(before_currencies("0.3.0") && before_currencies("0.1.0"));
        assert!(!before_currencies("0.4.0") && !before_currencies("0.10.0"));
        assert!(!before_currencies("1.0.0"));
    }

    #[test]
    fn the_currency_is_fixed_once_the_chart_has_accounts() {
        let current = Settings::new("EUR".into());
        let to_usd = SettingsChange { currency: Some("USD".into()), ..SettingsChange::default() };
        assert_eq!(to_usd.clone().apply(current.clone(), false).unwrap().currency, "USD");
        let err = to_usd.apply(current.clone(), true).unwrap_err().0;
        assert!(err.contains("cannot change"), "{err}");
        let same = SettingsChange { currency: Some("EUR".into()), ..SettingsChange::default() };
        assert!(same.apply(current.clone(), true).is_ok());
        let gain = SettingsChange {
            exchange_gain_account: Some("7100".into()),
            ..SettingsChange::default()
        };
        let changed = gain.apply(current.clone(), true).unwrap();
        assert_eq!(changed.difference_accounts().gain, "7100");
        assert_eq!(changed.exchange_loss_account, EXCHANGE_LOSS_ACCOUNT);
        let bad = SettingsChange { currency: Some("eur".into()), ..SettingsChange::default() };
        assert!(bad.apply(current, false).is_err());
    }
}

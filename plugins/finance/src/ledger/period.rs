//! Fiscal years and their periods: one standard period per calendar month
//! of the year, and an adjustment period for closing entries. Each is
//! open, closed or locked: entries post only into open periods, a closed
//! one can be reopened, a locked one never. A period can also be closed for
//! one journal while the others still post into it.

use keel_values::Date;

use super::RuleError;

/// Most months a fiscal year may span: twelve, or up to eighteen for a
/// company's first or last year.
pub const MONTHS_MAX: i64 = 18;

/// Whether entries may post.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
#[schemars(rename = "PeriodState")]
pub enum State {
    /// Entries post.
    Open,
    /// Nothing posts; can be reopened.
    Closed,
    /// Nothing posts, ever again.
    Locked,
}

impl State {
    /// Its name, as stored and returned.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
            Self::Locked => "locked",
        }
    }
}

/// A standard period (a month) or the year's adjustment period.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
#[schemars(rename = "PeriodKind")]
pub enum Kind {
    /// One calendar month; standard periods never overlap.
    Standard,
    /// The whole year, for closing and adjusting entries, which name it.
    Adjustment,
}

/// A fiscal year as a client creates it.
#[derive(Debug, Clone, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewYear {
    /// Such as `2026` or `FY2026`.
    pub code: String,
    /// Its first day, the first of a month.
    #[schemars(with = "keel_values::Date")]
    pub start: String,
    /// Its last day, the last of a month.
    #[schemars(with = "keel_values::Date")]
    pub end: String,
}

/// A fiscal year, as stored and returned.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct FiscalYear {
    /// Such as `2026` or `FY2026`.
    pub code: String,
    /// Its first day.
    pub start: Date,
    /// Its last day.
    pub end: Date,
    /// Open, closed into retained earnings, or locked for good.
    pub state: State,
    /// The entries that closed it into retained earnings, while closed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub closing_entries: Vec<u64>,
}

/// A period, as stored and returned.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct Period {
    /// A standard period's month, `YYYY-MM`; the adjustment period's
    /// `<year>-ADJ`.
    pub code: String,
    /// The fiscal year's code.
    pub year: String,
    /// A month, or the year's adjustment period.
    pub kind: Kind,
    /// Its first day.
    pub start: Date,
    /// Its last day.
    pub end: Date,
    /// Whether entries post into it.
    pub state: State,
    /// Journals closed in this period while it is open for the others.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub closed_journals: Vec<String>,
}

/// The code of `year`'s adjustment period.
pub fn adjustment_code(year: &str) -> String {
    format!("{year}-ADJ")
}

impl NewYear {
    /// Checks the year against the years there are (`existing`) and makes
    /// its periods: one per month, then the adjustment period.
    pub fn check(self, existing: &[FiscalYear]) -> Result<(FiscalYear, Vec<Period>), RuleError> {
        check_year_code(&self.code)?;
        let (start, end) = (Date::parse(&self.start)?, Date::parse(&self.end)?);
        if start.as_str() != start.first_of_month() {
            return Err(RuleError::new(format!(
                "a fiscal year starts on the first of a month, not {start}"
            )));
        }
        if end.add_days(1)?.as_str() != end.add_days(1)?.first_of_month() {
            return Err(RuleError::new(format!(
                "a fiscal year ends on the last day of a month, not {end}"
            )));
        }
        let months = months_between(&start, &end);
        if !(1..=MONTHS_MAX).contains(&months) {
            return Err(RuleError::new(format!(
                "a fiscal year spans 1 to {MONTHS_MAX} months; {start} to {end} is not that"
            )));
        }
        if let Some(known) = existing.iter().find(|y| y.code == self.code) {
            return Err(RuleError::new(format!("fiscal year {} already exists", known.code)));
        }
        if let Some(closed) = existing.iter().find(|y| y.state != State::Open && y.start > end) {
            return Err(RuleError::new(format!(
                "fiscal year {} after it is {}; a year cannot be added before a closed one",
                closed.code,
                closed.state.as_str()
            )));
        }
        if let Some(other) = existing.iter().find(|y| y.start <= end && start <= y.end) {
            return Err(RuleError::new(format!(
                "fiscal year {} ({} to {}) overlaps {start} to {end}",
                other.code, other.start, other.end
            )));
        }
        let periods = periods_of(&self.code, &start, &end)?;
        let year =
            FiscalYear { code: self.code, start, end, state: State::Open, closing_entries: vec![] };
        Ok((year, periods))
    }
}

/// Checks a fiscal year's code: 1 to 20 upper-case letters, digits and
/// `-`, such as `2026`, `FY2026` or `2026-27`.
fn check_year_code(code: &str) -> Result<(), RuleError> {
    let allowed = |b: u8| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-';
    if code.is_empty() || code.len() > 20 || !code.bytes().all(allowed) {
        return Err(RuleError::new(format!(
            "fiscal year code {code:?} must be 1 to 20 upper-case letters, digits and '-', such as 2026 or FY2026"
        )));
    }
    Ok(())
}

/// Whole months from `start` (a first) to `end` (a last day).
fn months_between(start: &Date, end: &Date) -> i64 {
    let month = |d: &Date| {
        let (y, m) = d.month().split_once('-').unwrap_or_default();
        y.parse::<i64>().unwrap_or(0) * 12 + m.parse::<i64>().unwrap_or(0)
    };
    month(end) - month(start) + 1
}

/// The periods of year `year`, from `start` to `end`: each month, then
/// the adjustment period over the whole year.
fn periods_of(year: &str, start: &Date, end: &Date) -> Result<Vec<Period>, RuleError> {
    let period = |code: String, kind, start: Date, end: Date| Period {
        code,
        year: year.to_owned(),
        kind,
        start,
        end,
        state: State::Open,
        closed_journals: Vec::new(),
    };
    let mut periods = Vec::new();
    let mut first = start.clone();
    while first <= *end {
        let next = first_of_next_month(&first)?;
        let last = Date::from_days(next.days() - 1)?;
        periods.push(period(first.month().to_owned(), Kind::Standard, first, last));
        first = next;
    }
    periods.push(period(adjustment_code(year), Kind::Adjustment, start.clone(), end.clone()));
    Ok(periods)
}

/// The first day of the month after `date`'s.
fn first_of_next_month(date: &Date) -> Result<Date, RuleError> {
    let first = Date::parse(&date.first_of_month())?;
    let in_next = first.add_days(31)?;
    Date::parse(&in_next.first_of_month())
}

impl Period {
    /// Checks that an entry of `journal` may post into this period.
    pub fn check_posting(&self, journal: &str) -> Result<(), RuleError> {
        match self.state {
            State::Open if self.closed_journals.iter().any(|j| j == journal) => {
                Err(RuleError::new(format!(
                    "period {} is closed for journal {journal}; reopen it for that journal, or date the entry in an open period",
                    self.code
                )))
            }
            State::Open => Ok(()),
            State::Closed => Err(RuleError::new(format!(
                "period {} ({} to {}) is closed; reopen it (finance.periods.reopen), or date the entry in an open period",
                self.code, self.start, self.end
            ))),
            State::Locked => Err(RuleError::new(format!(
                "period {} ({} to {}) is locked; nothing more can be posted in it",
                self.code, self.start, self.end
            ))),
        }
    }

    /// Closes the period, or only `journal` in it.
    pub fn close(&mut self, journal: Option<&str>) -> Result<(), RuleError> {
        self.must_not_be_locked()?;
        match journal {
            None => self.state = State::Closed,
            Some(_) if self.state == State::Closed => {
                return Err(RuleError::new(format!("period {} is closed already", self.code)));
            }
            Some(journal) if !self.closed_journals.iter().any(|j| j == journal) => {
                self.closed_journals.push(journal.to_owned());
                self.closed_journals.sort_unstable();
            }
            Some(journal) => {
                return Err(RuleError::new(format!(
                    "period {} is closed for journal {journal} already",
                    self.code
                )));
            }
        }
        Ok(())
    }

    /// Reopens the period (every journal in it), or only `journal`.
    pub fn reopen(&mut self, journal: Option<&str>) -> Result<(), RuleError> {
        self.must_not_be_locked()?;
        match journal {
            None => {
                self.state = State::Open;
                self.closed_journals.clear();
            }
            Some(journal) => {
                if self.state == State::Closed {
                    return Err(RuleError::new(format!(
                        "period {} is closed for every journal; reopen the whole period",
                        self.code
                    )));
                }
                let before = self.closed_journals.len();
                self.closed_journals.retain(|j| j != journal);
                if self.closed_journals.len() == before {
                    return Err(RuleError::new(format!(
                        "period {} is not closed for journal {journal}",
                        self.code
                    )));
                }
            }
        }
        Ok(())
    }

    /// Locks a closed period for good; the adjustment period is locked
    /// with its year.
    pub fn lock(&mut self) -> Result<(), RuleError> {
        if self.kind == Kind::Adjustment && self.state != State::Closed {
            return Err(RuleError::new(format!(
                "adjustment period {} is locked with its year, once the year is closed",
                self.code
            )));
        }
        match self.state {
            State::Closed => {
                self.state = State::Locked;
                Ok(())
            }
            State::Open => Err(RuleError::new(format!(
                "period {} is open; close it before locking it",
                self.code
            ))),
            State::Locked => Err(RuleError::new(format!("period {} is locked already", self.code))),
        }
    }

    fn must_not_be_locked(&self) -> Result<(), RuleError> {
        if self.state == State::Locked {
            return Err(RuleError::new(format!("period {} is locked for good", self.code)));
        }
        Ok(())
    }
}

impl FiscalYear {
    /// Checks that the year can be closed: it is open, and no year before
    /// it (of `years`) is.
    pub fn check_close(&self, years: &[FiscalYear]) -> Result<(), RuleError> {
        if self.state != State::Open {
            return Err(RuleError::new(format!("fiscal year {} is not open", self.code)));
        }
        if let Some(earlier) = years.iter().find(|y| y.end < self.start && y.state == State::Open) {
            return Err(RuleError::new(format!(
                "fiscal year {} is still open; close the years before {} first",
                earlier.code, self.code
            )));
        }
        Ok(())
    }

    /// Checks that the year can be reopened: it is closed (not locked), and
    /// no year after it (of `years`) is closed.
    pub fn check_reopen(&self, years: &[FiscalYear]) -> Result<(), RuleError> {
        match self.state {
            State::Closed => {}
            State::Open => {
                return Err(RuleError::new(format!("fiscal year {} is open", self.code)));
            }
            State::Locked => {
                return Err(RuleError::new(format!(
                    "fiscal year {} is locked for good",
                    self.code
                )));
            }
        }
        if let Some(later) = years.iter().find(|y| y.start > self.end && y.state != State::Open) {
            return Err(RuleError::new(format!(
                "fiscal year {} after it is closed; reopen that first",
                later.code
            )));
        }
        Ok(())
    }

    /// Locks a closed year for good.
    pub fn lock(&mut self) -> Result<(), RuleError> {
        if self.state != State::Closed {
            return Err(RuleError::new(format!(
                "fiscal year {} is {}; only a closed year can be locked",
                self.code,
                if self.state == State::Open { "open" } else { "locked already" }
            )));
        }
        self.state = State::Locked;
        Ok(())
    }
}

/// The first date on or after `date` that `journal` can post into: `date`
/// itself if the standard period holding it is open for the journal,
/// otherwise the first day of the first later standard period that is.
/// `periods` are every standard period, in any order; none if no later one
/// is open.
pub fn first_open_on_or_after(date: &Date, journal: &str, periods: &[Period]) -> Option<Date> {
    let mut standard: Vec<&Period> =
        periods.iter().filter(|p| p.kind == Kind::Standard && p.end >= *date).collect();
    standard.sort_by(|a, b| a.start.cmp(&b.start));
    let open = standard.into_iter().find(|p| p.check_posting(journal).is_ok())?;
    Some(if open.start <= *date { date.clone() } else { open.start.clone() })
}

impl FiscalYear {
    /// Checks that a period of this year may be reopened or locked on its
    /// own: only while the year is open.
    pub fn check_period_change(&self, period: &str) -> Result<(), RuleError> {
        if self.state != State::Open {
            return Err(RuleError::new(format!(
                "period {period} belongs to fiscal year {}, which is {}; reopen the year first",
                self.code,
                self.state.as_str()
            )));
        }
        Ok(())
    }
}

/// The period an entry dated `date` posts into: the standard period of its
/// month, or the adjustment period it names (`named`), which must be of the
/// year that holds the date.
pub fn period_for<'p>(
    date: &Date,
    named: Option<&str>,
    standard: Option<&'p Period>,
    adjustment: Option<&'p Period>,
) -> Result<&'p Period, RuleError> {
    let Some(code) = named else {
        return standard.ok_or_else(|| {
            RuleError::new(format!(
                "no fiscal year holds {date}; create one with POST /fiscal-years"
            ))
        });
    };
    let period = adjustment.filter(|p| p.code == code && p.kind == Kind::Adjustment);
    let period = period.ok_or_else(|| {
        RuleError::new(format!(
            "period {code:?} is not an adjustment period; an entry names only its year's adjustment period, and otherwise posts into the month of its date"
        ))
    })?;
    // Only on the year's last day: an adjustment dated in a month would
    // change that month's figures even once it is closed or locked.
    if *date != period.end {
        return Err(RuleError::new(format!(
            "an entry in adjustment period {code} is dated on the year's last day, {}; {date} is not",
            period.end
        )));
    }
    Ok(period)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(code: &str, start: &str, end: &str) -> NewYear {
        NewYear { code: code.into(), start: start.into(), end: end.into() }
    }

    fn year_2026() -> (FiscalYear, Vec<Period>) {
        new("2026", "2026-01-01", "2026-12-31").check(&[]).unwrap()
    }

    #[test]
    fn a_year_has_a_period_per_month_and_an_adjustment_period() {
        let (year, periods) = year_2026();
        assert_eq!(year.state, State::Open);
        assert_eq!(periods.len(), 13);
        let feb = &periods[1];
        assert_eq!(
            (feb.code.as_str(), feb.start.as_str(), feb.end.as_str()),
            ("2026-02", "2026-02-01", "2026-02-28")
        );
        let adj = periods.last().unwrap();
        assert_eq!((adj.code.as_str(), adj.kind), ("2026-ADJ", Kind::Adjustment));
        assert_eq!((adj.start.as_str(), adj.end.as_str()), ("2026-01-01", "2026-12-31"));
        let (_, broken) = new("FY27", "2026-07-01", "2027-06-30").check(&[]).unwrap();
        assert_eq!(broken[0].code, "2026-07");
        assert_eq!(broken[11].end.as_str(), "2027-06-30");
        let (_, leap) = new("2028", "2028-01-01", "2028-12-31").check(&[]).unwrap();
        assert_eq!(leap[1].end.as_str(), "2028-02-29");
    }

    #[test]
    fn a_year_is_whole_months_and_overlaps_no_other() {
        let (y2026, _) = year_2026();
        let err = |y: NewYear| y.check(std::slice::from_ref(&y2026)).unwrap_err().0;
        assert!(err(new("X", "2027-01-02", "2027-12-31")).contains("first of a month"));
        assert!(err(new("X", "2027-01-01", "2027-12-30")).contains("last day of a month"));
        assert!(err(new("X", "2027-01-01", "2028-12-31")).contains("1 to 18 months"));
        assert!(err(new("X", "2027-01-01", "2026-12-31")).contains("1 to 18 months"));
        assert!(err(new("2026", "2027-01-01", "2027-12-31")).contains("already exists"));
        assert!(err(new("X", "2026-12-01", "2027-11-30")).contains("overlaps"));
        assert!(err(new("x y", "2027-01-01", "2027-12-31")).contains("fiscal year code"));
        assert!(err(new("FY_27", "2027-01-01", "2027-12-31")).contains("fiscal year code"));
        assert!(new("2027", "2027-01-01", "2028-06-30").check(&[y2026]).is_ok(), "18 months");
    }

    #[test]
    fn only_open_periods_take_entries() {
        let (_, mut periods) = year_2026();
        let march = &mut periods[2];
        assert!(march.check_posting("GEN").is_ok());
        march.close(Some("SAL")).unwrap();
        assert!(march.check_posting("GEN").is_ok());
        let err = march.check_posting("SAL").unwrap_err().0;
        assert!(err.contains("closed for journal SAL"), "{err}");
        march.close(None).unwrap();
        let err = march.check_posting("GEN").unwrap_err().0;
        assert!(err.contains("period 2026-03 (2026-03-01 to 2026-03-31) is closed"), "{err}");
        march.reopen(None).unwrap();
        assert!(march.check_posting("SAL").is_ok(), "reopening reopens every journal");
        march.close(None).unwrap();
        march.lock().unwrap();
        assert!(march.check_posting("GEN").unwrap_err().0.contains("locked"));
        assert!(march.reopen(None).unwrap_err().0.contains("locked for good"));
        assert!(march.close(Some("SAL")).is_err());
    }

    #[test]
    fn the_adjustment_period_is_locked_only_with_its_year() {
        let (_, mut periods) = year_2026();
        let adj = periods.last_mut().unwrap();
        assert!(adj.lock().unwrap_err().0.contains("locked with its year"));
        adj.close(None).unwrap();
        adj.lock().unwrap();
    }

    #[test]
    fn journals_close_and_reopen_one_at_a_time() {
        let (_, mut periods) = year_2026();
        let april = &mut periods[3];
        april.close(Some("SAL")).unwrap();
        april.close(Some("BNK")).unwrap();
        assert_eq!(april.closed_journals, ["BNK", "SAL"]);
        assert!(april.close(Some("SAL")).unwrap_err().0.contains("already"));
        april.reopen(Some("SAL")).unwrap();
        assert_eq!(april.closed_journals, ["BNK"]);
        assert!(april.reopen(Some("SAL")).unwrap_err().0.contains("not closed for journal SAL"));
        assert!(april.lock().unwrap_err().0.contains("close it before locking"));
        april.close(None).unwrap();
        assert!(april.reopen(Some("BNK")).unwrap_err().0.contains("reopen the whole period"));
    }

    #[test]
    fn an_entry_posts_into_its_month_or_the_adjustment_period_it_names() {
        let (_, periods) = year_2026();
        let date = Date::parse("2026-12-31").unwrap();
        let (dec, adj) = (Some(&periods[11]), periods.last());
        assert_eq!(period_for(&date, None, dec, adj).unwrap().code, "2026-12");
        assert_eq!(period_for(&date, Some("2026-ADJ"), dec, adj).unwrap().code, "2026-ADJ");
        assert!(
            period_for(&date, Some("2026-12"), dec, adj)
                .unwrap_err()
                .0
                .contains("not an adjustment period")
        );
        assert!(period_for(&date, Some("2025-ADJ"), dec, adj).is_err());
        let err = period_for(&date, None, None, None).unwrap_err().0;
        assert!(err.contains("no fiscal year holds 2026-12-31"), "{err}");
        let outside = Date::parse("2027-01-01").unwrap();
        assert!(
            period_for(&outside, Some("2026-ADJ"), None, adj).unwrap_err().0.contains("last day")
        );
        let march = Date::parse("2026-03-15").unwrap();
        let err = period_for(&march, Some("2026-ADJ"), Some(&periods[2]), adj).unwrap_err().0;
        assert!(err.contains("dated on the year's last day, 2026-12-31"), "{err}");
    }

    #[test]
    fn a_reversal_is_dated_in_the_first_open_period() {
        let (_, mut periods) = year_2026();
        let date = Date::parse("2026-03-15").unwrap();
        assert_eq!(first_open_on_or_after(&date, "GEN", &periods), Some(date.clone()));
        periods[2].close(None).unwrap();
        periods[3].close(Some("GEN")).unwrap();
        let may = first_open_on_or_after(&date, "GEN", &periods).unwrap();
        assert_eq!(may.as_str(), "2026-05-01", "March closed, April closed for GEN");
        assert_eq!(first_open_on_or_after(&date, "SAL", &periods).unwrap().as_str(), "2026-04-01");
        for period in &mut periods[4..12] {
            period.close(None).unwrap();
        }
        assert_eq!(
            first_open_on_or_after(&date, "GEN", &periods),
            None,
            "the adjustment period never counts"
        );
        let (year, _) = year_2026();
        assert!(year.check_period_change("2026-03").is_ok());
        let closed = FiscalYear { state: State::Closed, ..year };
        assert!(
            closed.check_period_change("2026-03").unwrap_err().0.contains("reopen the year first")
        );
    }

    #[test]
    fn years_close_in_order_and_reopen_from_the_last() {
        let (mut y2026, _) = year_2026();
        let (mut y2027, _) = new("2027", "2027-01-01", "2027-12-31").check(&[]).unwrap();
        let err = y2027.check_close(std::slice::from_ref(&y2026)).unwrap_err().0;
        assert!(err.contains("fiscal year 2026 is still open"), "{err}");
        y2026.check_close(std::slice::from_ref(&y2027)).unwrap();
        y2026.state = State::Closed;
        y2027.check_close(std::slice::from_ref(&y2026)).unwrap();
        y2027.state = State::Closed;
        let err = y2026.check_reopen(std::slice::from_ref(&y2027)).unwrap_err().0;
        assert!(err.contains("2027 after it is closed"), "{err}");
        y2027.check_reopen(std::slice::from_ref(&y2026)).unwrap();
        assert!(y2027.check_close(&[]).unwrap_err().0.contains("not open"));
        y2026.lock().unwrap();
        assert!(y2026.check_reopen(&[]).unwrap_err().0.contains("locked for good"));
        let (open, _) = year_2026();
        assert!(open.clone().lock().unwrap_err().0.contains("only a closed year"));
        let (y2028, _) = new("2028", "2028-01-01", "2028-12-31").check(&[]).unwrap();
        let closed_2028 = FiscalYear { state: State::Closed, ..y2028 };
        let err = new("2025", "2025-01-01", "2025-12-31").check(&[closed_2028]).unwrap_err().0;
        assert!(err.contains("before a closed one"), "{err}");
    }
}

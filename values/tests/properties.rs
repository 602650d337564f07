//! Properties of the shared values over many generated inputs.

use keel_values::decimal::{self, AMOUNT_LIMIT, QUANTITY_LIMIT};
use keel_values::{Date, Sign};
use proptest::prelude::*;
use rust_decimal::Decimal;

proptest! {
    /// Every day from 1000-01-01 to 9999-12-31 is a date whose text reads
    /// back as the same day, and text order is the order of time.
    #[test]
    fn dates_and_days_agree(a in -354_285_i64..=2_932_896, b in -354_285_i64..=2_932_896) {
        let (x, y) = (Date::from_days(a).unwrap(), Date::from_days(b).unwrap());
        prop_assert_eq!(x.days(), a);
        prop_assert_eq!(Date::parse(x.as_str()).unwrap(), x.clone());
        prop_assert_eq!(x.cmp(&y), a.cmp(&b));
        if let Ok(n) = u32::try_from(b - a) {
            prop_assert_eq!(x.add_days(n).unwrap(), y);
        }
    }

    /// Days outside the four-digit years are refused, never misformatted.
    #[test]
    fn days_outside_the_years_are_refused(days in prop_oneof![i64::MIN / 4..-354_285, 2_932_897..i64::MAX / 4]) {
        prop_assert!(Date::from_days(days).is_err());
    }

    /// No string makes parsing panic, and what parses is what was written.
    #[test]
    fn any_text_parses_or_is_refused(text in "\\PC{0,12}|[0-9]{4}-[0-9]{2}-[0-9]{2}|-?[0-9]{1,17}(\\.[0-9]{1,6})?") {
        if let Ok(date) = Date::parse(&text) {
            prop_assert_eq!(date.as_str(), text.as_str());
        }
        if let Ok(value) = decimal::amount(&text, "amount", Sign::Any) {
            let places = text.split_once('.').map_or(0, |(_, fraction)| fraction.len());
            prop_assert_eq!(value.scale() as usize, places);
        }
    }

    /// Any amount within the bound, written with up to four places, reads
    /// back exactly; past the bound it is refused.
    #[test]
    fn amounts_within_the_bound_read_back_exactly(
        units in -i128::from(AMOUNT_LIMIT) * 10_000 + 1..i128::from(AMOUNT_LIMIT) * 10_000,
        scale in 0_u32..=4,
    ) {
        let value = Decimal::from_i128_with_scale(units / 10_i128.pow(4 - scale), scale);
        let read = decimal::amount(&value.to_string(), "amount", Sign::Any).unwrap();
        prop_assert_eq!(read, value);
        prop_assert_eq!(read.to_string(), value.to_string());
        let past = Decimal::from(AMOUNT_LIMIT) + value.abs();
        prop_assert!(decimal::amount(&past.to_string(), "amount", Sign::Any).is_err());
    }

    /// A largest quantity times a largest price, summed over many lines,
    /// stays exact.
    #[test]
    fn quantity_times_price_stays_in_range(q in 0..QUANTITY_LIMIT, p in 0..AMOUNT_LIMIT) {
        let product = Decimal::new(q, 0).checked_mul(Decimal::new(p, 0));
        prop_assert!(product.is_some());
    }
}

//! Dates, numbers and text direction by locale, with ICU4X's compiled CLDR
//! data: "1 December 2026" / "1 décembre 2026" / "1 ديسمبر 2026", the
//! locale's grouping separator, and whether its script is written right to
//! left. Pure; the data is compiled in.
//!
//! Digits: Arabic is written with Western digits (`latn`, 0–9) unless the
//! tag asks for others (`ar-u-nu-arab`: ٠–٩). CLDR's own default for `ar`
//! is Arabic-Indic, but the Levantine, Gulf and pan-Arab news sites Herald
//! is written for use Western digits online, as do the headlines and
//! summaries their feeds send; a digest whose counts and dates used
//! another script than its stories would read as two publications. Every
//! other language gets CLDR's default for its tag.

use std::cell::RefCell;

use chrono::{Datelike, NaiveDate};
use icu_calendar::{Date, Gregorian};
use icu_datetime::FixedCalendarDateTimeFormatter;
use icu_datetime::fieldsets::YMD;
use icu_decimal::DecimalFormatter;
use icu_decimal::input::Decimal;
use icu_locale::LocaleDirectionality;
use icu_locale_core::extensions::unicode::{Value, key};

use crate::domain::Locale;

/// Which way a locale's script runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Ltr,
    Rtl,
}

impl Direction {
    /// The value of an HTML `dir` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Ltr => "ltr",
            Direction::Rtl => "rtl",
        }
    }

    /// Where a line starts ("left" or "right"), for inline styles.
    pub fn start(self) -> &'static str {
        match self {
            Direction::Ltr => "left",
            Direction::Rtl => "right",
        }
    }

    /// Where a line ends.
    pub fn end(self) -> &'static str {
        match self {
            Direction::Ltr => "right",
            Direction::Rtl => "left",
        }
    }
}

/// The direction of `locale`'s script (its own, or the likely one for its
/// language: `ar` is Arabic script, `az` is Latin); unknown ones are
/// left to right.
pub fn direction(locale: &Locale) -> Direction {
    const DIRECTIONALITY: LocaleDirectionality = LocaleDirectionality::new_common();
    if DIRECTIONALITY.is_right_to_left(&locale.icu().id) {
        Direction::Rtl
    } else {
        Direction::Ltr
    }
}

/// `locale` with Herald's choices applied: Arabic digits (see the module
/// doc), and a bare `en` formatted as international English (`en-001`:
/// "1 December 2026"), as Herald always wrote dates; CLDR's `en` is
/// American ("December 1, 2026"), which `en-US` still asks for.
pub fn formatting_locale(locale: &Locale) -> icu_locale_core::Locale {
    let mut l = locale.icu().clone();
    if l.id.language.as_str() == "en" && l.id.region.is_none() && l.id.script.is_none() {
        l.id.region = "001".parse().ok();
    }
    let nu = key!("nu");
    if l.id.language.as_str() == "ar" && l.extensions.unicode.keywords.get(&nu).is_none() {
        let latn: Value = "latn".parse().expect("a valid keyword value");
        l.extensions.unicode.keywords.set(nu, latn);
    }
    l
}

/// A date as the locale writes it in full: day, month name, year
/// (Gregorian calendar).
pub fn date(locale: &Locale, day: NaiveDate) -> String {
    let l = formatting_locale(locale);
    let formatter = FixedCalendarDateTimeFormatter::<Gregorian, _>::try_new((&l).into(), YMD::long())
        .or_else(|_| {
            FixedCalendarDateTimeFormatter::<Gregorian, _>::try_new(Default::default(), YMD::long())
        });
    let Ok(formatter) = formatter else {
        return day.format("%Y-%m-%d").to_string();
    };
    match Date::try_new_gregorian(day.year(), day.month() as u8, day.day() as u8) {
        Ok(d) => formatter.format(&d).to_string(),
        Err(_) => day.format("%Y-%m-%d").to_string(),
    }
}

/// An integer with the locale's digits and grouping ("12,345", "12 345").
pub fn integer(locale: &Locale, n: i64) -> String {
    decimal(locale, &Decimal::from(n))
}

/// A number with the locale's digits, grouping and decimal separator;
/// `None` when `raw` is not a decimal number.
pub fn number(locale: &Locale, raw: &str) -> Option<String> {
    let d = Decimal::try_from_str(raw.trim()).ok()?;
    Some(decimal(locale, &d))
}

thread_local! {
    /// The decimal formatters made on this thread, by locale (a handful):
    /// making one resolves the locale and loads its data, which cost more
    /// than the rest of a digest's numbers together (a send's profile).
    static DECIMALS: std::cell::RefCell<Vec<(Locale, Option<std::rc::Rc<DecimalFormatter>>)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

fn decimal(locale: &Locale, d: &Decimal) -> String {
    let formatter = DECIMALS.with(|cache| {
        if let Some((_, f)) = cache.borrow().iter().find(|(l, _)| l == locale) {
            return f.clone();
        }
        let made = DecimalFormatter::try_new((&formatting_locale(locale)).into(), Default::default())
            .ok()
            .map(std::rc::Rc::new);
        cache.borrow_mut().push((locale.clone(), made.clone()));
        made
    });
    match formatter {
        Some(f) => f.format(d).to_string(),
        None => d.to_string(),
    }
}

/// The CLDR plural category of `n` in `locale` ("zero", "one", "two",
/// "few", "many", "other"): the catalogs' `PLURAL($count)`. ICU4X's rules,
/// not Fluent's own: intl_pluralrules 7.0 drops the `n % 100` of Arabic's
/// few and many (103 and 111 come out "other"; CLDR says "few" and
/// "many").
pub fn plural_category(locale: &Locale, n: f64) -> &'static str {
    use icu_plurals::{PluralCategory, PluralOperands, PluralRules};
    let operands = if n.fract() == 0.0 && n.abs() < 1e15 {
        PluralOperands::from(n as i64)
    } else {
        match Decimal::try_from_str(&n.to_string()) {
            Ok(d) => PluralOperands::from(&d),
            Err(_) => return "other",
        }
    };
    let Ok(rules) = PluralRules::try_new_cardinal(locale.icu().into()) else {
        return "other";
    };
    match rules.category_for(operands) {
        PluralCategory::Zero => "zero",
        PluralCategory::One => "one",
        PluralCategory::Two => "two",
        PluralCategory::Few => "few",
        PluralCategory::Many => "many",
        PluralCategory::Other => "other",
    }
}

thread_local! {
    /// The locale whose digits the numbers of the message being formatted
    /// take: Fluent hands its formatter only the catalog's language, which
    /// would lose `-u-nu-` and a region. Set by [`with_number_locale`] for
    /// the duration of one synchronous format call on this thread.
    static NUMBER_LOCALE: RefCell<Option<Locale>> = const { RefCell::new(None) };
}

/// Runs `f` with the numbers Fluent formats written for `locale`.
pub(super) fn with_number_locale<R>(locale: &Locale, f: impl FnOnce() -> R) -> R {
    struct Reset(Option<Locale>);
    impl Drop for Reset {
        fn drop(&mut self) {
            NUMBER_LOCALE.with(|l| *l.borrow_mut() = self.0.take());
        }
    }
    let previous = NUMBER_LOCALE.with(|l| l.borrow_mut().replace(locale.clone()));
    let _reset = Reset(previous);
    f()
}

/// Fluent's formatter hook: integral numbers in messages get the locale's
/// digits and grouping; anything else Fluent formats itself.
pub(super) fn fluent_number<M>(value: &fluent_bundle::FluentValue, _: &M) -> Option<String> {
    let fluent_bundle::FluentValue::Number(n) = value else {
        return None;
    };
    if n.value.fract() != 0.0 || n.value.abs() > 1e15 {
        return None;
    }
    NUMBER_LOCALE.with(|l| l.borrow().as_ref().map(|l| integer(l, n.value as i64)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(tag: &str) -> Locale {
        Locale::parse(tag).unwrap()
    }

    #[test]
    fn dates_in_english_french_and_arabic() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert_eq!(date(&l("en"), day), "1 December 2026");
        assert_eq!(date(&l("en-US"), day), "December 1, 2026");
        assert_eq!(date(&l("fr"), day), "1 décembre 2026");
        assert_eq!(date(&l("ar"), day), "1 ديسمبر 2026");
        // The Levant names the months differently (Syriac names).
        assert_eq!(date(&l("ar-JO"), day), "1 كانون الأول 2026");
        assert_eq!(date(&l("ar-u-nu-arab"), day), "١ ديسمبر ٢٠٢٦");
        // A language without CLDR data falls back to the root locale.
        assert!(date(&l("tlh"), day).contains("2026"));
    }

    #[test]
    fn digits_and_grouping_per_locale() {
        assert_eq!(integer(&l("en"), 12345), "12,345");
        assert_eq!(integer(&l("fr"), 12345), "12\u{202f}345");
        assert_eq!(integer(&l("ar"), 12345), "12,345");
        assert_eq!(integer(&l("ar-u-nu-arab"), 12345), "١٢٬٣٤٥");
        assert_eq!(number(&l("fr"), "3.5").as_deref(), Some("3,5"));
        assert_eq!(number(&l("en"), "lots"), None);
    }

    #[test]
    fn plural_categories_are_cldr_s() {
        let cat = |tag: &str, n: f64| plural_category(&l(tag), n);
        let ar: Vec<&str> = [0.0, 1.0, 2.0, 3.0, 11.0, 100.0, 103.0, 111.0, 1.5]
            .iter()
            .map(|&n| cat("ar", n))
            .collect();
        assert_eq!(
            ar,
            [
                "zero", "one", "two", "few", "many", "other", "few", "many", "other"
            ]
        );
        assert_eq!((cat("en", 1.0), cat("en", 0.0)), ("one", "other"));
        assert_eq!(
            (cat("fr", 0.0), cat("fr", 1.5), cat("fr", 2.0)),
            ("one", "one", "other")
        );
    }

    #[test]
    fn direction_follows_the_script() {
        assert_eq!(direction(&l("ar")), Direction::Rtl);
        assert_eq!(direction(&l("ar-JO")), Direction::Rtl);
        assert_eq!(direction(&l("he")), Direction::Rtl);
        assert_eq!(direction(&l("fa")), Direction::Rtl);
        assert_eq!(direction(&l("en")), Direction::Ltr);
        assert_eq!(direction(&l("fr")), Direction::Ltr);
        assert_eq!(direction(&l("az-Latn")), Direction::Ltr);
        assert_eq!(direction(&l("tlh")), Direction::Ltr);
        assert_eq!(Direction::Rtl.start(), "right");
    }
}

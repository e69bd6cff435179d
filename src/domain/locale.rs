//! [`Locale`]: a BCP 47 language tag (`en`, `ar-JO`, `fr-CA`,
//! `ar-u-nu-arab`), parsed once at the boundary (a CSV cell, a flag, a
//! config value, a signup form or Accept-Language) by ICU4X's parser and
//! kept in its canonical form. Which tags Herald has catalogs for, and how
//! one is chosen, is `i18n`'s business; this type only says the tag is well
//! formed. [`Language`] is a tag's primary language subtag alone (`ar` of
//! `ar-JO`), a small `Copy` value for comparing languages where regions
//! and scripts do not matter (which stories are in a reader's language).
//! Pure; no IO.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use super::Invalid;

/// The longest tag accepted; real tags are a few subtags long.
const MAX_LEN: usize = 64;

/// A well-formed BCP 47 language tag with a language (not `und`). Boxed:
/// ICU4X's locale is a few hundred bytes, and every subscriber carries one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Locale(Box<icu_locale_core::Locale>);

impl Locale {
    /// Parses and canonicalizes a tag: `EN-us` becomes `en-US`; the POSIX
    /// form some exports use (`en_US`) is read as the same tag.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let trimmed = raw.trim();
        let expected = "expected a BCP 47 language tag such as en, ar, fr or pt-BR";
        if trimmed.is_empty() {
            return Err(Invalid::new(format!("is empty; {expected}")));
        }
        if trimmed.len() > MAX_LEN {
            return Err(Invalid::new(format!(
                "is longer than {MAX_LEN} characters; {expected}"
            )));
        }
        let locale = icu_locale_core::Locale::try_from_str(&trimmed.replace('_', "-"))
            .map_err(|_| Invalid::new(format!("{trimmed:?} is not a language tag; {expected}")))?;
        if locale.id.language.is_unknown() {
            return Err(Invalid::new(format!("{trimmed:?} names no language; {expected}")));
        }
        Ok(Locale(Box::new(locale)))
    }

    /// The primary language subtag, e.g. `ar` for `ar-JO`.
    pub fn language(&self) -> &str {
        self.0.id.language.as_str()
    }

    /// The primary language subtag as a [`Language`].
    pub fn primary_language(&self) -> Language {
        Language(self.0.id.language)
    }

    /// The parsed tag, for ICU4X formatters.
    pub fn icu(&self) -> &icu_locale_core::Locale {
        &self.0
    }

    /// The tag in canonical form.
    pub fn tag(&self) -> String {
        self.0.to_string()
    }
}

impl FromStr for Locale {
    type Err = Invalid;
    fn from_str(raw: &str) -> Result<Self, Invalid> {
        Locale::parse(raw)
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Serialize for Locale {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A primary language subtag (`en`, `ar`, `fr`): what two tags are
/// compared on when only the language matters (`ar-JO` and `ar-EG` are
/// both `ar`). Built from a [`Locale`], so it is always a real language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Language(icu_locale_core::subtags::Language);

impl Language {
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_canonicalized_and_bad_ones_say_what_was_expected() {
        assert_eq!(Locale::parse(" EN_us ").unwrap().to_string(), "en-US");
        assert_eq!(Locale::parse("ar-jo").unwrap().tag(), "ar-JO");
        assert_eq!(Locale::parse("ar-JO").unwrap().language(), "ar");
        assert_eq!(
            Locale::parse("ar-JO").unwrap().primary_language(),
            Locale::parse("ar-EG").unwrap().primary_language()
        );
        assert_ne!(
            Locale::parse("en").unwrap().primary_language(),
            Locale::parse("ar").unwrap().primary_language()
        );
        assert_eq!(
            Locale::parse("fr-CA").unwrap().primary_language().to_string(),
            "fr"
        );
        assert_eq!(
            Locale::parse("ar-u-nu-arab").unwrap().tag(),
            "ar-u-nu-arab",
            "extensions are kept"
        );
        for bad in ["", "english!", "und", "e", "en--US", &"a".repeat(65)] {
            let err = Locale::parse(bad).unwrap_err().0;
            assert!(err.contains("BCP 47"), "{bad:?}: {err}");
        }
    }
}

//! [`SubscriberEmail`]: an address validated with the email_address crate
//! and normalized (trimmed, domain lower-cased), and its [`key`]
//! (SubscriberEmail::key), which also folds the case of the local part, so
//! that one person is one row. Pure; no IO.

use std::fmt;

use email_address::{EmailAddress, Options};

use super::Invalid;

/// A subscriber's address: syntactically valid (RFC 5322 addr-spec checked by
/// the `email_address` crate), at most 254 characters, trimmed, with the
/// domain lower-cased. The local part keeps its case: RFC 5321 lets the
/// receiving server treat it as case-sensitive, so mail goes to the
/// spelling given. Two spellings that differ only in the case of ASCII
/// letters are still one subscriber: see [`SubscriberEmail::key`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubscriberEmail(String);

impl SubscriberEmail {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(Invalid::new("is empty; expected an email address"));
        }
        if trimmed.len() > Self::MAX_LEN {
            return Err(Invalid::new(format!(
                "is {} characters long; an email address has at most {}",
                trimmed.len(),
                Self::MAX_LEN
            )));
        }
        if trimmed.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(Invalid::new(format!(
                "{trimmed:?} contains whitespace or control characters; expected an email address"
            )));
        }
        let options = Options {
            minimum_sub_domains: 2,
            allow_domain_literal: false,
            allow_display_text: false,
            allow_long_local_parts: false,
        };
        EmailAddress::parse_with_options(trimmed, options)
            .map_err(|e| Invalid::new(format!("{trimmed:?} is not a valid email address ({e})")))?;
        // `parse_with_options` accepted it, so there is exactly one '@' that
        // separates local part and domain (the last one; the local part may
        // contain a quoted '@').
        let at = trimmed.rfind('@').expect("validated address has an @");
        let (local, domain) = trimmed.split_at(at);
        Ok(SubscriberEmail(format!("{local}{}", domain.to_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What makes two addresses one subscriber: the address with its ASCII
    /// letters lower-cased (the domain is lower-cased already). Practically
    /// every mail server treats local parts case-insensitively, and two
    /// digests to `Dup@` and `dup@` are one reader's two digests. Only ASCII
    /// is folded, as SQL's `lower()` in the migration that filled the
    /// stored keys did; the store's unique index is on this key.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }

    /// The suppression list's key: SHA-256 of the whole address
    /// lower-cased, in hex. Kept when the subscriber is erased, so the
    /// address itself is not.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.0)
    }

    /// The domain part, for logs that must not show whole addresses.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
    }
}

/// [`SubscriberEmail::fingerprint`] of an address taken from a report,
/// which may not be one Herald would accept as a subscriber's.
pub fn fingerprint(address: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(address.trim().to_lowercase().as_bytes()))
}

impl fmt::Display for SubscriberEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for SubscriberEmail {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_domain_and_trims() {
        let e = SubscriberEmail::parse("  Ana.Lima@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "Ana.Lima@example.com");
        assert_eq!(e.domain(), "example.com");
    }

    #[test]
    fn the_key_folds_the_local_part_and_keeps_the_spelling() {
        let a = SubscriberEmail::parse("Dup@Example.com").unwrap();
        let b = SubscriberEmail::parse("dup@example.com").unwrap();
        assert_ne!(a, b);
        assert_eq!(a.as_str(), "Dup@example.com");
        assert_eq!(a.key(), b.key());
        assert_eq!(a.key(), "dup@example.com");
    }

    #[test]
    fn rejects_bad_addresses() {
        for bad in [
            "",
            "plain",
            "a@b",
            "a@@b.com",
            "a b@c.com",
            "a@b.com\r\nBcc: x@y.com",
            "@example.com",
            "user@",
        ] {
            assert!(SubscriberEmail::parse(bad).is_err(), "{bad:?} accepted");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        let err = SubscriberEmail::parse(&long).unwrap_err();
        assert!(err.0.contains("254"), "{err}");
    }
}

//! The VERP return path: `mail.return_path` with `{id}` replaced by the
//! delivery's id and an HMAC of it (`bounces+1234-9f86d081884c7d65@…`), so
//! a bounce names its delivery and a forged one names nothing: without the
//! key, guessing the 64-bit tag of another delivery takes 2^63 tries on
//! average. Pure: the key comes from the store.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Bytes of HMAC-SHA-256 kept in an address: 64 bits, as 16 hex digits.
const TAG_BYTES: usize = 8;

/// Builds and checks VERP addresses for one `mail.return_path` template.
#[derive(Clone)]
pub struct Verp {
    /// The template's local part before `{id}` and everything after it
    /// (rest of the local part, `@`, domain), lower-cased for matching.
    prefix: String,
    suffix: String,
    key: Vec<u8>,
}

impl std::fmt::Debug for Verp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Verp({}{{id}}{})", self.prefix, self.suffix)
    }
}

impl Verp {
    /// `template` has already been checked by config (one `{id}`, in the
    /// local part, a valid address once filled in).
    pub fn new(template: &str, key: &[u8]) -> Verp {
        let (prefix, suffix) = template.split_once("{id}").unwrap_or((template, ""));
        Verp {
            prefix: prefix.to_ascii_lowercase(),
            suffix: suffix.to_ascii_lowercase(),
            key: key.to_vec(),
        }
    }

    /// The envelope sender for one delivery.
    pub fn address(&self, delivery_id: i64) -> String {
        format!("{}{}-{}{}", self.prefix, delivery_id, self.tag(delivery_id), self.suffix)
    }

    /// The delivery an address names, if it is one of ours and its tag is
    /// right. Case-insensitive (some MTAs lower-case local parts), and
    /// tolerant of angle brackets and a `rfc822;` prefix.
    pub fn delivery(&self, address: &str) -> Option<i64> {
        let a = address.trim().trim_start_matches("rfc822;").trim();
        let a = a.trim_start_matches('<').trim_end_matches('>').to_ascii_lowercase();
        let id = a.strip_prefix(&self.prefix)?.strip_suffix(&self.suffix)?;
        let (number, tag) = id.split_once('-')?;
        let delivery: i64 = number.parse().ok().filter(|n| *n > 0)?;
        let expected = self.tag(delivery);
        bool::from(expected.as_bytes().ct_eq(tag.as_bytes())).then_some(delivery)
    }

    fn tag(&self, delivery_id: i64) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(b"herald-verp\0");
        mac.update(delivery_id.to_string().as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..TAG_BYTES])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verp() -> Verp {
        Verp::new("Bounces+{id}@Bounces.Example.com", b"0123456789abcdef0123456789abcdef")
    }

    #[test]
    fn an_address_names_its_delivery() {
        let v = verp();
        let a = v.address(1234);
        assert!(a.starts_with("bounces+1234-"), "{a}");
        assert!(a.ends_with("@bounces.example.com"), "{a}");
        assert_eq!(v.delivery(&a), Some(1234));
        assert_eq!(v.delivery(&format!("<{}>", a.to_uppercase())), Some(1234));
        assert_eq!(v.delivery(&format!("rfc822; {a}")), Some(1234));
    }

    #[test]
    fn a_forged_or_foreign_address_names_nothing() {
        let v = verp();
        let a = v.address(1234);
        let forged = a.replace("1234-", "1235-");
        assert_eq!(v.delivery(&forged), None);
        let other_key = Verp::new("bounces+{id}@bounces.example.com", b"another key");
        assert_eq!(other_key.delivery(&a), None);
        assert_eq!(v.delivery("bounces@bounces.example.com"), None);
        assert_eq!(v.delivery("bounces+1234@bounces.example.com"), None);
        assert_eq!(v.delivery("bounces+-1-00@bounces.example.com"), None);
        assert_eq!(v.delivery("someone@example.com"), None);
    }
}

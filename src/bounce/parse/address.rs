//! Addresses and Message-IDs as reports write them (`rfc822; X@Y`,
//! `<x@y>`, `"Name" <x@y>`, `x@y.`), normalized to what Herald compares:
//! lower-case, no address type, no angle brackets, no Message-ID brackets.

/// The address in `raw`, lower-cased, or `None` if there is none.
pub(super) fn normalize(raw: &str) -> Option<String> {
    let mut s = raw.trim();
    // An address type ("rfc822;", "utf-8;", "RFC822;", "x-unknown;").
    if let Some((kind, rest)) = s.split_once(';')
        && !kind.is_empty()
        && kind.len() <= 16
        && kind.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        s = rest.trim();
    }
    // "Name" <x@y>: what is inside the brackets.
    if let Some(start) = s.rfind('<')
        && let Some(len) = s[start + 1..].find('>')
    {
        s = &s[start + 1..start + 1 + len];
    }
    let s = s.trim().trim_matches(|c: char| TRIM.contains(c));
    checked(s)
}

/// Characters that surround an address in prose and are never part of it.
const TRIM: &str = "<>()[]{},;:\"'`.";

fn checked(s: &str) -> Option<String> {
    if s.is_empty()
        || s.len() > 254
        || s.chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>()[],;\"".contains(c))
    {
        return None;
    }
    let (local, domain) = s.rsplit_once('@')?;
    if local.is_empty() || domain.is_empty() || !domain.contains('.') && domain != "localhost" {
        return None;
    }
    if domain.starts_with('.') || domain.ends_with('.') || domain.contains("..") {
        return None;
    }
    Some(s.to_lowercase())
}

/// The addresses among the words of `line`, in order.
pub(super) fn in_text(line: &str) -> impl Iterator<Item = String> + '_ {
    line.split(|c: char| c.is_whitespace() || "<>()[],;\"'=".contains(c))
        .filter(|w| w.contains('@'))
        .filter_map(|w| checked(w.trim_matches(|c: char| TRIM.contains(c))))
}

/// A Message-ID without its angle brackets and surrounding space.
pub(super) fn message_id(raw: &str) -> Option<String> {
    let s = raw.trim();
    let s = match (s.find('<'), s.find('>')) {
        (Some(a), Some(b)) if a < b => &s[a + 1..b],
        _ => s,
    };
    let s = s.trim();
    (!s.is_empty() && s.len() <= 998 && !s.chars().any(char::is_whitespace)).then(|| s.to_owned())
}

/// Addresses that belong to mail systems, not to subscribers: never a
/// failed recipient.
pub(super) fn is_mail_system(address: &str) -> bool {
    let local = address.split('@').next().unwrap_or("");
    SYSTEM_LOCAL_PARTS.contains(&local)
}

pub(super) const SYSTEM_LOCAL_PARTS: &[&str] = &[
    "mailer-daemon",
    "mailer_daemon",
    "mailerdaemon",
    "mail-daemon",
    "maildaemon",
    "postmaster",
    "mdaemon",
    // The system mailbox Exchange sends its own notices from.
    "microsoftexchange329e71ec88ae4615bbc36ab6ce41109e",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_as_reports_write_them() {
        for (raw, want) in [
            ("rfc822; Jane.Doe@Example.COM", Some("jane.doe@example.com")),
            ("RFC822;<x@y.example>", Some("x@y.example")),
            ("utf-8; jürgen@bücher.example", Some("jürgen@bücher.example")),
            ("\"Jane\" <jane@x.example>", Some("jane@x.example")),
            ("<x@y.example>:", Some("x@y.example")),
            ("x@y.example.", Some("x@y.example")),
            ("rfc822; redacted", None),
            ("<>", None),
            ("not an address", None),
            ("a@b", None),
            ("@y.example", None),
        ] {
            assert_eq!(normalize(raw).as_deref(), want, "{raw}");
        }
        let found: Vec<_> = in_text("Your message to <a@x.example> and b@y.example. failed").collect();
        assert_eq!(found, ["a@x.example", "b@y.example"]);
        assert_eq!(message_id(" <abc@x.example> ").as_deref(), Some("abc@x.example"));
        assert_eq!(message_id("abc@x.example").as_deref(), Some("abc@x.example"));
        assert_eq!(message_id("  "), None);
    }
}

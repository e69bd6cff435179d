//! `mail.smtp_url`, parsed once at load into [`SmtpUrl`]: host, port,
//! transport security and the percent-decoded user. Every part of the URL
//! is checked here, query parameters included, so a mistake is a
//! configuration error naming the key rather than a failure at send time.
//! The password never lives in the URL; this module only rejects one found
//! there. No IO, no lettre (the mail module turns this into a transport).

use std::fmt;

use super::values::redact_url;

/// Transport security towards the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `smtp://…?tls=none`: plain text, for a relay on localhost.
    Plain,
    /// `smtp://…` (default) or `?tls=opportunistic`: STARTTLS when offered.
    Opportunistic,
    /// `smtp://…?tls=required`: STARTTLS or fail.
    Required,
    /// `smtp://…?tls=opportunistic-unverified`: STARTTLS when offered,
    /// accepting whatever certificate the relay shows. Encrypts against a
    /// passive listener only: anyone who can intercept the connection can
    /// present their own certificate. For a relay on loopback or one the
    /// admin names explicitly (a stock Debian Postfix with its snakeoil
    /// certificate).
    OpportunisticUnverified,
    /// `smtps://…`: TLS from the first byte.
    Implicit,
}

/// A checked `mail.smtp_url`.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpUrl {
    host: String,
    port: u16,
    security: Security,
    user: Option<String>,
    /// The URL as written, for messages (it holds no password: one is
    /// rejected).
    shown: String,
}

const EXPECTED: &str = "expected smtp://host[:port] or smtps://host[:port]";
const TLS_VALUES: &str = "expected required, opportunistic, opportunistic-unverified or none";

impl SmtpUrl {
    /// Parses `smtp://[user@]host[:port][?tls=required|opportunistic|opportunistic-unverified|none]`
    /// or `smtps://[user@]host[:port]`.
    pub fn parse(raw: &str) -> Result<SmtpUrl, String> {
        let not_smtp = || format!("{:?} is not an SMTP URL; {EXPECTED}", redact_url(raw));
        let url = url::Url::parse(raw).map_err(|_| not_smtp())?;
        let implicit = match url.scheme() {
            "smtp" => false,
            "smtps" => true,
            _ => return Err(not_smtp()),
        };
        let host = url.host_str().filter(|h| !h.is_empty()).ok_or_else(not_smtp)?;
        if url.password().is_some() {
            return Err(
                "contains a password; set HERALD_MAIL__SMTP_PASSWORD or mail.smtp_password_file instead"
                    .into(),
            );
        }
        if !matches!(url.path(), "" | "/") || url.fragment().is_some() {
            return Err(format!(
                "{raw:?} has a path or fragment; an SMTP URL names only a user, a host, a port and ?tls=, {EXPECTED}"
            ));
        }
        let port = url.port().unwrap_or(if implicit { 465 } else { 25 });
        if port == 0 {
            return Err(format!("{raw:?}: port 0 is out of range; {EXPECTED}"));
        }
        let security = security(&url, implicit)?;
        let user = Some(url.username()).filter(|u| !u.is_empty()).map(|u| {
            percent_encoding::percent_decode_str(u)
                .decode_utf8_lossy()
                .into_owned()
        });
        Ok(SmtpUrl {
            host: host.to_owned(),
            port,
            security,
            user,
            shown: raw.to_owned(),
        })
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port given, else 25 for `smtp://` and 465 for `smtps://`.
    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn security(&self) -> Security {
        self.security
    }

    /// The user to log in as, percent-decoded; `None` when the URL names
    /// none.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }
}

/// The `tls` parameter; any other parameter is a mistake worth naming.
fn security(url: &url::Url, implicit: bool) -> Result<Security, String> {
    let mut tls = None;
    for (name, value) in url.query_pairs() {
        if name != "tls" {
            return Err(format!(
                "unknown parameter {name:?}; the only parameter is tls ({TLS_VALUES})"
            ));
        }
        if tls.replace(value.into_owned()).is_some() {
            return Err("tls is given twice; give it once".into());
        }
    }
    match (implicit, tls.as_deref()) {
        (true, None | Some("required")) => Ok(Security::Implicit),
        (true, Some(other)) => Err(format!(
            "tls={other} contradicts smtps://, which is TLS from the first byte; drop ?tls= or use smtp://"
        )),
        (false, None | Some("opportunistic")) => Ok(Security::Opportunistic),
        (false, Some("required")) => Ok(Security::Required),
        (false, Some("opportunistic-unverified")) => Ok(Security::OpportunisticUnverified),
        (false, Some("none")) => Ok(Security::Plain),
        (false, Some(other)) => Err(format!("tls={other} is not understood; {TLS_VALUES}")),
    }
}

impl fmt::Display for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SmtpUrl({})", self.shown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_port_and_user() {
        let cases = [
            ("smtp://relay.example.com", Security::Opportunistic, 25),
            (
                "smtp://relay.example.com:587?tls=required",
                Security::Required,
                587,
            ),
            ("smtp://localhost:2525?tls=none", Security::Plain, 2525),
            (
                "smtp://relay.example.com?tls=opportunistic",
                Security::Opportunistic,
                25,
            ),
            (
                "smtp://127.0.0.1:25?tls=opportunistic-unverified",
                Security::OpportunisticUnverified,
                25,
            ),
            ("smtps://relay.example.com", Security::Implicit, 465),
            (
                "smtps://relay.example.com:2465?tls=required",
                Security::Implicit,
                2465,
            ),
        ];
        for (raw, security, port) in cases {
            let url = SmtpUrl::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!((url.security(), url.port()), (security, port), "{raw}");
            assert_eq!(
                url.host(),
                raw.split("://").nth(1).unwrap().split([':', '?']).next().unwrap()
            );
            assert_eq!(url.user(), None);
        }
        let url = SmtpUrl::parse("smtp://digest%40example.com@relay.example.com:587").unwrap();
        assert_eq!(url.user(), Some("digest@example.com"));
        assert_eq!(
            url.to_string(),
            "smtp://digest%40example.com@relay.example.com:587"
        );
    }

    #[test]
    fn bad_urls_say_what_is_wrong() {
        let cases = [
            ("http://relay.example.com", "is not an SMTP URL"),
            ("smtp://", "is not an SMTP URL"),
            ("relay.example.com:25", "is not an SMTP URL"),
            ("smtp://u:hunter2@relay.example.com", "contains a password"),
            (
                "smtp://relay.example.com?tls=bogus",
                "tls=bogus is not understood; expected required",
            ),
            (
                "smtp://relay.example.com?tsl=required",
                "unknown parameter \"tsl\"",
            ),
            (
                "smtp://relay.example.com?tls=none&timeout=5",
                "unknown parameter \"timeout\"",
            ),
            (
                "smtp://relay.example.com?tls=none&tls=required",
                "tls is given twice",
            ),
            (
                "smtps://relay.example.com?tls=none",
                "tls=none contradicts smtps://",
            ),
            ("smtp://relay.example.com/inbox", "has a path or fragment"),
            ("smtp://relay.example.com:0", "port 0 is out of range"),
        ];
        for (raw, expected) in cases {
            let e = SmtpUrl::parse(raw).expect_err(raw);
            assert!(e.contains(expected), "{raw}: {e}");
            assert!(!e.contains("hunter2"), "{raw}: {e}");
        }
    }
}

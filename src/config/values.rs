//! Value types of the configuration that are more than a number or a path:
//! the database URL (whose `Display` hides a password) and a mailbox as
//! written in the file, and a file of CA certificates. Each has a `parse`
//! (or `read`) that returns the reason as plain text; the caller adds the
//! key and the layer. The only IO here is reading the CA file.

use std::fmt;
use std::path::{Path, PathBuf};

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::domain::{HeaderSafe, SubscriberEmail};

/// A database URL; `Display` hides any password it carries.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.starts_with("sqlite:") || raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            Ok(DatabaseUrl(raw.to_owned()))
        } else {
            Err(format!(
                "{:?} is not a supported database URL; expected sqlite://PATH or postgres://USER@HOST/DB",
                redact_url(raw)
            ))
        }
    }

    /// The URL including any password, for the database driver only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_postgres(&self) -> bool {
        self.0.starts_with("postgres")
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// Replaces the password of `scheme://user:password@host…` with `[redacted]`.
pub fn redact_url(raw: &str) -> String {
    let Some(scheme_end) = raw.find("://") else {
        return raw.to_owned();
    };
    let rest = &raw[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rfind('@') {
        Some(at) => match authority[..at].find(':') {
            Some(colon) => format!(
                "{}{}:[redacted]{}",
                &raw[..scheme_end + 3],
                &authority[..colon],
                &raw[scheme_end + 3 + at..]
            ),
            None => raw.to_owned(),
        },
        None => raw.to_owned(),
    }
}

/// A mailbox as written in the configuration: `Name <addr>` or `addr`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub name: Option<HeaderSafe>,
    pub email: SubscriberEmail,
}

impl Mailbox {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let (name, addr) = match (raw.rfind('<'), raw.ends_with('>')) {
            (Some(open), true) => (
                Some(raw[..open].trim().trim_matches('"')),
                &raw[open + 1..raw.len() - 1],
            ),
            _ => (None, raw),
        };
        let email = SubscriberEmail::parse(addr).map_err(|e| format!("address {e}"))?;
        let name = match name.filter(|n| !n.is_empty()) {
            Some(n) => Some(HeaderSafe::parse(n, 200).map_err(|e| format!("display name {e}"))?),
            None => None,
        };
        Ok(Mailbox { name, email })
    }
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{name} <{}>", self.email),
            None => write!(f, "{}", self.email),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_only_passwords() {
        assert_eq!(redact_url("postgres://a@h/d"), "postgres://a@h/d");
        assert_eq!(redact_url("postgres://a:b@h/d"), "postgres://a:[redacted]@h/d");
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
    }

    #[test]
    fn mailboxes_with_and_without_a_name() {
        let m = Mailbox::parse("\"Daily Planet\" <news@example.com>").unwrap();
        assert_eq!(m.to_string(), "Daily Planet <news@example.com>");
        assert_eq!(Mailbox::parse("news@example.com").unwrap().name, None);
        assert!(Mailbox::parse("Evil\r\nBcc: x <news@example.com>").is_err());
    }
}

/// The certificates of a CA file (`bounces.imap_ca_file`,
/// `mail.smtp_ca_file`), read and checked at load: a PEM file with at least
/// one certificate, each usable as a trust anchor.
#[derive(Clone)]
pub struct CaFile {
    pub file: PathBuf,
    pub certs: Vec<CertificateDer<'static>>,
}

impl fmt::Debug for CaFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CaFile({}, {} certificates)",
            self.file.display(),
            self.certs.len()
        )
    }
}

impl CaFile {
    /// Every certificate of the PEM file `file`; `server` says whose
    /// certificate they sign, for the message when there is none.
    pub fn read(file: &Path, server: &str) -> Result<CaFile, String> {
        let text = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let certs = CertificateDer::pem_slice_iter(&text)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("{} is not a PEM file of certificates: {e}", file.display()))?;
        if certs.is_empty() {
            return Err(format!(
                "{} holds no certificate; expected the PEM of the CA that signs {server}'s certificate",
                file.display()
            ));
        }
        let mut roots = rustls::RootCertStore::empty();
        for (i, cert) in certs.iter().enumerate() {
            roots.add(cert.clone()).map_err(|e| {
                format!(
                    "{}: certificate {} is not usable as a CA: {e}",
                    file.display(),
                    i + 1
                )
            })?;
        }
        Ok(CaFile {
            file: file.to_owned(),
            certs,
        })
    }
}

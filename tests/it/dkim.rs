//! Herald's DKIM signatures verify with an independent verifier, offline, for
//! both key types it accepts: an RSA key (PKCS#1 PEM) and an Ed25519 key
//! (PKCS#8 PEM, the 48-byte form `openssl genpkey -algorithm ed25519`
//! writes), each generated here and loaded through the real configuration
//! path. A realistic digest (non-ASCII site, subject and recipient names, an
//! 8bit text part with a long URL line, an HTML part too long for 8bit) is
//! composed by `herald::mail::Composer` and checked by Stalwart's `mail-auth`,
//! whose header parsing and canonicalization share no code with lettre's
//! signer: the signature passes; it covers From, To, Subject, Date,
//! Message-ID, List-Id, List-Unsubscribe and List-Unsubscribe-Post with
//! relaxed/relaxed canonicalization and no l=; and changing one byte of a
//! signed header or of the body makes it fail. The key record
//! `herald._domainkey.example.com` is served from a pre-seeded DNS cache; the
//! verifier's resolver has no name servers and mail-auth's `test` feature
//! answers any uncached query with NXDOMAIN, so nothing leaves the process
//! (checked: without the record the result is `permerror`).
use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::NaiveDate;
use ed25519_dalek::pkcs8::{EncodePrivateKey, KeypairBytes};
use herald::config::{Config, Overrides};
use herald::domain::Edition;
use herald::domain::{Frequency, Token};
use herald::mail::{Composer, Outgoing};
use mail_auth::common::crypto::{Algorithm, CryptoError};
use mail_auth::common::parse::TxtRecordParser;
use mail_auth::common::verify::DomainKey;
use mail_auth::dkim::{Canonicalization, DkimError, Signature};
use mail_auth::hickory_resolver::config::{ResolverConfig, ResolverOpts};
use mail_auth::{
    AuthenticatedMessage, DkimResult, DnsError, Error, MessageAuthenticator, Parameters, ResolverCache, Txt,
};
use rsa::pkcs1::{EncodeRsaPrivateKey, LineEnding};
use rsa::pkcs8::EncodePublicKey;

const DOMAIN: &str = "example.com";
const SELECTOR: &str = "herald";
const KEY_RECORD_NAME: &str = "herald._domainkey.example.com.";

/// Headers the signature must cover (RFC 6376 §5.4 and RFC 8058 §4: the
/// one-click unsubscribe headers only count when signed).
const MUST_SIGN: [&str; 8] = [
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "list-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
];

/// A private key in the PEM form Herald reads, and its DNS key record.
struct Key {
    pem: String,
    record: String,
}

/// A fresh 2048-bit RSA key: PKCS#1 PEM, and `p=` as base64 SPKI DER.
fn rsa_key() -> Key {
    let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("RSA keygen");
    let pem = private.to_pkcs1_pem(LineEnding::LF).expect("PKCS#1 PEM");
    let spki = private.to_public_key().to_public_key_der().expect("SPKI DER");
    Key {
        pem: pem.to_string(),
        record: format!("v=DKIM1; k=rsa; p={}", BASE64.encode(spki.as_bytes())),
    }
}

/// A fresh Ed25519 key: PKCS#8 v1 PEM (the private key alone, the 48-byte
/// form `openssl genpkey` writes), and `p=` as the raw 32-byte public key in
/// base64 (RFC 8463 §4.2).
fn ed25519_key() -> Key {
    let signing = ed25519_dalek::SigningKey::from_bytes(&rand::random());
    let v1 = KeypairBytes {
        secret_key: signing.to_bytes(),
        public_key: None,
    };
    let pem = v1.to_pkcs8_pem(LineEnding::LF).expect("PKCS#8 PEM");
    let public = signing.verifying_key().to_bytes();
    Key {
        pem: pem.to_string(),
        record: format!("v=DKIM1; k=ed25519; p={}", BASE64.encode(public)),
    }
}

/// A Composer built the way the daemon builds one: key file on disk, a TOML
/// file naming it, `Config::load_from` over the built-in defaults.
fn composer(dir: &Path, key: &Key) -> Composer {
    let key_file = dir.join("dkim.pem");
    std::fs::write(&key_file, &key.pem).unwrap();
    let config_path = dir.join("herald.toml");
    let toml = format!(
        "[site]\n\
         name = \"Les Nouvelles de Zoë\"\n\
         public_url = \"https://news.example.com\"\n\
         [mail]\n\
         from = \"Les Nouvelles de Zoë <digest@{DOMAIN}>\"\n\
         [mail.dkim]\n\
         domain = \"{DOMAIN}\"\n\
         selector = \"{SELECTOR}\"\n\
         key_file = \"{}\"\n",
        key_file.display()
    );
    std::fs::write(&config_path, toml).unwrap();
    let overrides = Overrides {
        config_path: Some(config_path),
        database_url: None,
    };
    let config = Config::load_from(&overrides, &[]).expect("config loads");
    assert!(config.mail.dkim.is_some(), "the config enables DKIM");
    Composer::new(&config.mail, config.site.name.as_str(), &config.site.public_url)
        .expect("composer accepts the key")
}

/// One subscriber's digest, in wire format.
fn digest(composer: &Composer, to_email: &str, to_name: &str) -> Vec<u8> {
    let token = Token::generate();
    let edition = Edition {
        frequency: Frequency::Daily,
        date: NaiveDate::from_ymd_opt(2026, 3, 10).unwrap(),
    };
    let message_id = composer.message_id(&edition, 1, &token);
    let unsubscribe_url = format!("https://news.example.com/unsubscribe/{token}");
    let long_url = format!(
        "https://news.example.com/2026/03/10/city-council-approves-the-new-tram-line-after-a-decade-of-debate?utm_source=herald&utm_medium=email&utm_campaign=daily-2026-03-10&utm_content=story-1&subscriber={token}"
    );
    let subject = "Zoë's daily digest — 10 March: tram line approved, ليلى حداد wins the prize";
    let text = format!(
        "Good morning, {to_name}!\n\
         \n\
         1. City council approves the new tram line after a decade of debate\n\
         {long_url}\n\
         \n\
         2. Café owners brace for the rent review — «on verra»\n\
         https://news.example.com/2026/03/10/cafe-rents\n\
         \n\
         .A line that starts with a dot\n\
         From a line that starts with From\n\
         -- \n\
         Example News · 1 Main Street · Springfield\n\
         Unsubscribe: {unsubscribe_url}\n"
    );
    // Minified HTML: one line well over the 998-octet limit, so this part
    // goes out base64-encoded while the text part goes out 8bit.
    let stories: String = (1..=12)
        .map(|i| format!("<li><a href=\"{long_url}&amp;n={i}\">Story {i}: ليلى حداد, Zoë Laurent</a></li>"))
        .collect();
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{subject}</title></head><body><p>Good morning, {to_name}!</p><ol>{stories}</ol><p><a href=\"{unsubscribe_url}\">Unsubscribe</a></p></body></html>\n"
    );
    let email = composer
        .compose(&Outgoing {
            to_email,
            to_name,
            subject,
            html: &html,
            text: &text,
            message_id: &message_id,
            unsubscribe_url: &unsubscribe_url,
            token: &token,
            return_path: None,
        })
        .expect("composes");
    email.to_bytes()
}

/// A TXT cache holding exactly the records it was given; lookups never
/// insert (the `test` feature answers any miss with NXDOMAIN, which is not
/// worth remembering).
#[derive(Default)]
struct Zone(HashMap<Box<str>, Txt>);

impl Zone {
    fn with_key(record: &str) -> Zone {
        let key = DomainKey::parse(record.as_bytes()).expect("a valid DKIM key record");
        let mut zone = Zone::default();
        zone.0.insert(KEY_RECORD_NAME.into(), key.into());
        zone
    }
}

impl ResolverCache<Box<str>, Txt> for Zone {
    fn get<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0.get(name).cloned()
    }

    fn remove<Q>(&self, _: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        None
    }

    fn insert(&self, _: Box<str>, _: Txt, _: std::time::Instant) {}
}

/// The result of the message's one DKIM signature, and the signature.
async fn verify(raw: &[u8], zone: &Zone) -> (DkimResult, Signature) {
    // No name servers at all: even without the `test` feature's mock, a
    // lookup could only fail, never reach the network.
    let authenticator =
        MessageAuthenticator::new(ResolverConfig::from_name_servers(vec![]), ResolverOpts::default())
            .expect("resolver");
    let message = AuthenticatedMessage::parse(raw).expect("mail-auth parses the message");
    let outputs = authenticator
        .verify_dkim(Parameters::new(&message).with_txt_cache(zone))
        .await;
    assert_eq!(
        outputs.len(),
        1,
        "expected exactly one DKIM result, got {outputs:?} for\n{}",
        String::from_utf8_lossy(raw)
    );
    let output = &outputs[0];
    let signature = output.signature().expect("a parsed signature").clone();
    (output.result().clone(), signature)
}

/// `raw` with the first byte of the first occurrence of `needle` after
/// `after` changed to `to`.
fn tamper(raw: &[u8], after: &str, needle: &str, to: u8) -> Vec<u8> {
    let start = find(raw, after.as_bytes(), 0).unwrap_or_else(|| panic!("{after:?} not in message"));
    let at = find(raw, needle.as_bytes(), start).unwrap_or_else(|| panic!("{needle:?} not after {after:?}"));
    let mut out = raw.to_vec();
    assert_ne!(out[at], to);
    out[at] = to;
    out
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

async fn signs_verifiably(key: Key, algorithm: Algorithm) {
    let dir = tempfile::tempdir().unwrap();
    let composer = composer(dir.path(), &key);
    let zone = Zone::with_key(&key.record);

    for (to_email, to_name) in [
        ("zoe.laurent@example.org", "Zoë Laurent"),
        ("layla@example.net", "ليلى حداد"),
    ] {
        let raw = digest(&composer, to_email, to_name);
        let wire = String::from_utf8_lossy(&raw);

        let (result, signature) = verify(&raw, &zone).await;
        assert_eq!(result, DkimResult::Pass, "signature does not verify:\n{wire}");
        assert_eq!(signature.a, algorithm);
        assert_eq!((signature.d.as_str(), signature.s.as_str()), (DOMAIN, SELECTOR));
        assert_eq!(signature.l, 0, "l= would leave appended content unsigned");
        assert_eq!(
            (signature.ch, signature.cb),
            (Canonicalization::Relaxed, Canonicalization::Relaxed),
            "c= is not relaxed/relaxed"
        );
        let signed: Vec<String> = signature.h.iter().map(|h| h.to_ascii_lowercase()).collect();
        for header in MUST_SIGN {
            assert!(
                signed.iter().any(|h| h == header),
                "h= lacks {header}: {signed:?}"
            );
        }

        // One byte changed in a signed header breaks the signature; one byte
        // changed in the body (the 8bit text part, or the base64 of the HTML
        // part) breaks the body hash.
        let bad_signature = DkimResult::Fail(Error::Crypto(CryptoError::FailedVerification));
        let bad_body = DkimResult::Neutral(Error::Dkim(DkimError::FailedBodyHashMatch));
        let tampered = [
            (
                "Subject",
                tamper(&raw, "\r\nSubject:", " daily digest", b'_'),
                &bad_signature,
            ),
            ("To", tamper(&raw, "\r\nTo:", "@example", b'#'), &bad_signature),
            (
                "List-Unsubscribe",
                tamper(&raw, "\r\nList-Unsubscribe:", "news.example.com", b'm'),
                &bad_signature,
            ),
            (
                "text body",
                tamper(&raw, "\r\n\r\n", "City council", b'c'),
                &bad_body,
            ),
            (
                "html body",
                tamper(&raw, "Content-Type: text/html", "PCFkb2N0eXBl", b'Q'),
                &bad_body,
            ),
        ];
        for (what, bytes, expected) in tampered {
            let (result, _) = verify(&bytes, &zone).await;
            assert_eq!(&result, expected, "after tampering with the {what}");
        }

        // Offline for real: without the seeded record the key is not found.
        let (result, _) = verify(&raw, &Zone::default()).await;
        assert!(
            matches!(
                result,
                DkimResult::PermError(Error::Dns(DnsError::RecordNotFound(_)))
            ),
            "without the key record: {result:?}"
        );
    }
}

#[tokio::test]
async fn rsa_signature_verifies_independently() {
    signs_verifiably(rsa_key(), Algorithm::RsaSha256).await;
}

#[tokio::test]
async fn ed25519_signature_verifies_independently() {
    signs_verifiably(ed25519_key(), Algorithm::Ed25519Sha256).await;
}

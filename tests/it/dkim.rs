//! Herald's DKIM signatures verify with an independent verifier, offline,
//! for every key form it accepts: RSA as PKCS#1 and as PKCS#8 PEM, and
//! Ed25519 as PKCS#8 PEM (the 48-byte form `openssl genpkey -algorithm
//! ed25519` writes), each generated here and loaded through the real
//! configuration path, and for dual signing (one RSA and one Ed25519 key,
//! both signatures checked). A realistic digest (non-ASCII site, subject and
//! recipient names, a text part with a 2,000-octet line, an HTML part too
//! long for 7bit) is composed by `herald::mail::Composer`, signed by
//! Herald's ring signer, and checked by Stalwart's `mail-auth` with its
//! pure-Rust crypto, whose header parsing and canonicalization share no code
//! with Herald's: the signature passes; it covers From (oversigned), To,
//! Subject, Date, Message-ID, MIME-Version, Content-Type, List-Id,
//! List-Unsubscribe, List-Unsubscribe-Post, Feedback-ID and Reply-To with
//! relaxed/relaxed canonicalization and no l=; changing one byte of a signed
//! header or of the body, or adding a second From, makes it fail. The key
//! records under `_domainkey.example.com` are served from a pre-seeded DNS
//! cache; the verifier's resolver has no name servers and mail-auth's `test`
//! feature answers any uncached query with NXDOMAIN, so nothing leaves the
//! process (checked: without the record the result is `permerror`). Python's
//! dkimpy, when installed, verifies the same messages as a second verifier.
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
use rsa::pkcs8::{EncodePrivateKey as _, EncodePublicKey};

use crate::support::smtp::SmtpSink;
use crate::support::{Settings, TestEnv};

const DOMAIN: &str = "example.com";

/// Headers the signature must cover when present (RFC 6376 §5.4 and RFC
/// 8058 §4: the one-click unsubscribe headers only count when signed);
/// From is named twice, once more than present.
const MUST_SIGN: [&str; 13] = [
    "from",
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "list-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "feedback-id",
    "reply-to",
];

/// A private key in the PEM form Herald reads, the selector it signs
/// under, and its DNS key record.
struct Key {
    pem: String,
    selector: &'static str,
    record: String,
}

/// A fresh 2048-bit RSA key: PKCS#1 or PKCS#8 PEM, and `p=` as base64
/// SPKI DER.
fn rsa_key(pkcs8: bool) -> Key {
    let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("RSA keygen");
    let pem = if pkcs8 {
        private
            .to_pkcs8_pem(LineEnding::LF)
            .expect("PKCS#8 PEM")
            .to_string()
    } else {
        private
            .to_pkcs1_pem(LineEnding::LF)
            .expect("PKCS#1 PEM")
            .to_string()
    };
    let spki = private.to_public_key().to_public_key_der().expect("SPKI DER");
    Key {
        pem,
        selector: "rsa",
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
        selector: "ed",
        record: format!("v=DKIM1; k=ed25519; p={}", BASE64.encode(public)),
    }
}

/// A Composer built the way the daemon builds one: key files on disk, a
/// TOML file naming them (a `[mail.dkim]` table for one key, an array of
/// tables for two), `Config::load_from` over the built-in defaults.
fn composer(dir: &Path, keys: &[&Key]) -> Composer {
    let mut dkim = String::new();
    for key in keys {
        let key_file = dir.join(format!("{}.pem", key.selector));
        std::fs::write(&key_file, &key.pem).unwrap();
        let header = if keys.len() == 1 {
            "[mail.dkim]"
        } else {
            "[[mail.dkim]]"
        };
        dkim.push_str(&format!(
            "{header}\ndomain = \"{DOMAIN}\"\nselector = \"{}\"\nkey_file = \"{}\"\n",
            key.selector,
            key_file.display()
        ));
    }
    let config_path = dir.join("herald.toml");
    let toml = format!(
        "[site]\n\
         name = \"Les Nouvelles de Zoë\"\n\
         public_url = \"https://news.example.com\"\n\
         [mail]\n\
         from = \"Les Nouvelles de Zoë <digest@{DOMAIN}>\"\n\
         reply_to = \"Smith, John <editor@{DOMAIN}>\"\n\
         feedback_id = \"daily:digest:herald\"\n\
         {dkim}"
    );
    std::fs::write(&config_path, toml).unwrap();
    let overrides = Overrides {
        config_path: Some(config_path),
        database_url: None,
        metrics_file: None,
    };
    let config = Config::load_from(&overrides, &[]).expect("config loads");
    assert_eq!(config.mail.dkim.len(), keys.len(), "the config names every key");
    Composer::new(&config.mail, config.site.name.as_str(), &config.site.public_url)
        .expect("composer accepts the keys")
}

/// One subscriber's digest, in wire format.
fn digest(composer: &Composer, to_email: &str, to_name: &str) -> Vec<u8> {
    digest_email(composer, to_email, to_name).to_bytes()
}

/// One subscriber's digest, as the engine hands it to a session.
fn digest_email(composer: &Composer, to_email: &str, to_name: &str) -> herald::mail::Email {
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
    let long_line = "The council's statement, in full: ".to_owned() + &"tram, ".repeat(330);
    let text = format!(
        "Good morning, {to_name}!\n\
         \n\
         1. City council approves the new tram line after a decade of debate\n\
         {long_url}\n\
         {long_line}\n\
         \n\
         2. Café owners brace for the rent review — «on verra»\n\
         https://news.example.com/2026/03/10/cafe-rents\n\
         \n\
         .A line that starts with a dot\n\
         From a line that starts with From\n\
         Trailing spaces   \n\
         -- \n\
         Example News · 1 Main Street · Springfield\n\
         Unsubscribe: {unsubscribe_url}\n"
    );
    // Minified HTML: one line well over the 998-octet limit.
    let stories: String = (1..=12)
        .map(|i| format!("<li><a href=\"{long_url}&amp;n={i}\">Story {i}: ليلى حداد, Zoë Laurent</a></li>"))
        .collect();
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{subject}</title></head><body><p>Good morning, {to_name}!</p><ol>{stories}</ol><p><a href=\"{unsubscribe_url}\">Unsubscribe</a></p></body></html>\n"
    );
    composer
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
        .expect("composes")
}

/// A TXT cache holding exactly the records it was given; lookups never
/// insert (the `test` feature answers any miss with NXDOMAIN, which is not
/// worth remembering).
#[derive(Default)]
struct Zone(HashMap<Box<str>, Txt>);

impl Zone {
    fn with_keys(keys: &[&Key]) -> Zone {
        let mut zone = Zone::default();
        for key in keys {
            let record = DomainKey::parse(key.record.as_bytes()).expect("a valid DKIM key record");
            let name = format!("{}._domainkey.{DOMAIN}.", key.selector);
            zone.0.insert(name.into_boxed_str(), record.into());
        }
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

/// The result of each of the message's DKIM signatures, top first, with
/// the signature.
async fn verify(raw: &[u8], zone: &Zone) -> Vec<(DkimResult, Signature)> {
    // No name servers at all: even without the `test` feature's mock, a
    // lookup could only fail, never reach the network.
    let authenticator =
        MessageAuthenticator::new(ResolverConfig::from_name_servers(vec![]), ResolverOpts::default())
            .expect("resolver");
    let message = AuthenticatedMessage::parse(raw).expect("mail-auth parses the message");
    let outputs = authenticator
        .verify_dkim(Parameters::new(&message).with_txt_cache(zone))
        .await;
    outputs
        .iter()
        .map(|o| {
            let signature = o.signature().expect("a parsed signature").clone();
            (o.result().clone(), signature)
        })
        .collect()
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

/// `raw` with `line` inserted before the header field named `before` (at
/// the start of a line, so never inside the h= of a signature).
fn insert_header(raw: &[u8], before: &str, line: &str) -> Vec<u8> {
    let at = find(raw, format!("\r\n{before}:").as_bytes(), 0)
        .unwrap_or_else(|| panic!("no {before} field in the message"))
        + 2;
    [&raw[..at], line.as_bytes(), &raw[at..]].concat()
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// The checks every signature must pass: it verifies, it is the key's
/// algorithm under its selector, relaxed/relaxed, no l=, every header in
/// `MUST_SIGN`; a byte changed in a signed header or the body, or a second
/// From (above the first or below it), makes it fail.
async fn signs_verifiably(keys: &[&Key], algorithms: &[Algorithm]) {
    let dir = tempfile::tempdir().unwrap();
    let composer = composer(dir.path(), keys);
    let zone = Zone::with_keys(keys);

    for (to_email, to_name) in [
        ("zoe.laurent@example.org", "Zoë Laurent"),
        ("layla@example.net", "ليلى حداد"),
        ("liam@example.net", "Liam O'Brien"),
    ] {
        let raw = digest(&composer, to_email, to_name);
        let wire = String::from_utf8_lossy(&raw);
        assert!(raw.is_ascii(), "the message is not 7-bit:\n{wire}");

        let results = verify(&raw, &zone).await;
        assert_eq!(results.len(), keys.len(), "one signature per key: {results:?}");
        for ((result, signature), (key, algorithm)) in results.iter().zip(keys.iter().zip(algorithms)) {
            assert_eq!(
                result,
                &DkimResult::Pass,
                "the {algorithm:?} signature does not verify:\n{wire}"
            );
            assert_eq!(signature.a, *algorithm);
            assert_eq!(
                (signature.d.as_str(), signature.s.as_str()),
                (DOMAIN, key.selector)
            );
            assert_eq!(signature.l, 0, "l= would leave appended content unsigned");
            assert_eq!(
                (signature.ch, signature.cb),
                (Canonicalization::Relaxed, Canonicalization::Relaxed),
                "c= is not relaxed/relaxed"
            );
            let mut signed: Vec<String> = signature.h.iter().map(|h| h.to_ascii_lowercase()).collect();
            signed.sort();
            let mut expected: Vec<String> = MUST_SIGN.iter().map(|h| h.to_string()).collect();
            expected.sort();
            assert_eq!(signed, expected, "h= is not the headers Herald signs");
        }

        // One byte changed in a signed header breaks the signature; one byte
        // changed in the body (the quoted-printable text or HTML part) breaks the body hash. A From added above or
        // below the signed one breaks the signature (From is oversigned).
        let bad_signature = DkimResult::Fail(Error::Crypto(CryptoError::FailedVerification));
        let bad_body = DkimResult::Neutral(Error::Dkim(DkimError::FailedBodyHashMatch));
        let second_from = "From: Les Nouvelles de Zoe <ceo@example.com>\r\n";
        let tampered = [
            (
                "Subject",
                tamper(&raw, "\r\nSubject:", "?=", b'_'),
                &bad_signature,
            ),
            ("To", tamper(&raw, "\r\nTo:", "@example", b'#'), &bad_signature),
            (
                "List-Unsubscribe",
                tamper(&raw, "\r\nList-Unsubscribe:", "news.example.com", b'm'),
                &bad_signature,
            ),
            (
                "Content-Type",
                tamper(&raw, "\r\nContent-Type: multipart", "boundary", b'B'),
                &bad_signature,
            ),
            (
                "a second From above",
                insert_header(&raw, "From", second_from),
                &bad_signature,
            ),
            (
                "a second From below",
                insert_header(&raw, "MIME-Version", second_from),
                &bad_signature,
            ),
            (
                "text body",
                tamper(&raw, "\r\n\r\n", "City council", b'c'),
                &bad_body,
            ),
            (
                "html body",
                tamper(&raw, "Content-Type: text/html", "doctype", b'D'),
                &bad_body,
            ),
        ];
        for (what, bytes, expected) in tampered {
            for (result, signature) in verify(&bytes, &zone).await {
                assert_eq!(
                    &result, expected,
                    "{:?} after tampering with the {what}",
                    signature.a
                );
            }
        }

        // Offline for real: without the seeded records the keys are not found.
        for (result, _) in verify(&raw, &Zone::default()).await {
            assert!(
                matches!(
                    result,
                    DkimResult::PermError(Error::Dns(DnsError::RecordNotFound(_)))
                ),
                "without the key record: {result:?}"
            );
        }
    }
}

#[tokio::test]
async fn rsa_pkcs1_signature_verifies_independently() {
    signs_verifiably(&[&rsa_key(false)], &[Algorithm::RsaSha256]).await;
}

#[tokio::test]
async fn rsa_pkcs8_signature_verifies_independently() {
    signs_verifiably(&[&rsa_key(true)], &[Algorithm::RsaSha256]).await;
}

#[tokio::test]
async fn ed25519_signature_verifies_independently() {
    signs_verifiably(&[&ed25519_key()], &[Algorithm::Ed25519Sha256]).await;
}

/// RFC 8463 dual signing: two DKIM-Signature headers, both pass.
#[tokio::test]
async fn dual_rsa_and_ed25519_signatures_both_verify() {
    signs_verifiably(
        &[&rsa_key(false), &ed25519_key()],
        &[Algorithm::RsaSha256, Algorithm::Ed25519Sha256],
    )
    .await;
}

/// Stories whose digest has a 2,000-octet line in its text part (the URL
/// stands on a line of its own) and one whose text is Cyrillic.
const LONG_AND_CYRILLIC: &str = r#"[
  {"title": "A story with a very long link", "url": "https://news.example.com/long/URLTAIL", "section": "world",
   "summary": "Its link is one line of 2,000 octets.", "author": "Ana Smith", "published_at": "2026-03-10T06:30:00Z", "votes": 500},
  {"title": "Городской совет одобрил новую линию трамвая", "url": "https://news.example.com/world/tram", "section": "world",
   "summary": "После десяти лет споров депутаты проголосовали за строительство новой линии трамвая через весь город; работы начнутся весной.",
   "author": "Анна Смирнова", "published_at": "2026-03-10T06:20:00Z", "votes": 400}
]"#;

const SUBSCRIBERS: &str = "email,name,timezone,frequency,send_hour,topics,status\n\
    liam@example.net,Liam O'Brien,UTC,daily,7,,active\n\
    olga@example.org,Ольга Иванова,UTC,daily,7,,active\n";

// Digests with a 2,000-octet line and with Cyrillic text go through the
// test SMTP server 7-bit clean (every line within 998 octets, no 8bit part),
// decode back to the text `herald preview` renders, carry the ASCII display
// name unencoded, and verify with both signatures.
both_backends! {
    async fn seven_bit_digests_arrive_decode_and_verify(env: &TestEnv) {
        use mail_parser::{MessageParser, MimeHeaders as _};

        let tail = "a".repeat(2000 - "https://news.example.com/long/".len());
        let stories = env.write("stories.json", &LONG_AND_CYRILLIC.replace("URLTAIL", &tail));
        let subscribers = env.write("subscribers.csv", SUBSCRIBERS);
        for (what, file) in [("stories", &stories), ("subscribers", &subscribers)] {
            env.herald(&[what, "import", file.to_str().unwrap()]).assert().success();
        }
        let rsa = rsa_key(true);
        let ed = ed25519_key();
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("dkim.toml");
        let mut toml = String::new();
        for key in [&rsa, &ed] {
            let file = dir.path().join(format!("{}.pem", key.selector));
            std::fs::write(&file, &key.pem).unwrap();
            toml.push_str(&format!(
                "[[mail.dkim]]\ndomain = \"{DOMAIN}\"\nselector = \"{}\"\nkey_file = \"{}\"\n",
                key.selector,
                file.display()
            ));
        }
        std::fs::write(&config, toml).unwrap();
        let sink = SmtpSink::start();
        let mail = Settings::smtp(&sink).set("HERALD_SITE__PUBLIC_URL", "https://news.example.com");
        let (date, now) = ("2026-03-10", "2026-03-10T07:00:00Z");
        let herald = |args: &[&str]| {
            let mut c = env.herald(&[&["--config", config.to_str().unwrap()], args].concat());
            c.envs(mail.vars());
            c
        };
        // What each digest renders to, before the send marks its stories
        // sent.
        let mut rendered = HashMap::new();
        for rcpt in ["liam@example.net", "olga@example.org"] {
            let preview = herald(&["preview", rcpt, "--date", date, "--now", now, "--format", "text"])
                .output()
                .unwrap();
            assert!(preview.status.success(), "{}", crate::support::stderr_of(&preview));
            let preview = crate::support::stdout_of(&preview);
            let text = preview
                .split_once("\n\n")
                .unwrap_or_else(|| panic!("the subject line, then the text: {preview}"))
                .1;
            rendered.insert(rcpt, text.to_owned());
        }
        herald(&["send", "--date", date, "--now", now]).assert().success();
        let messages = sink.wait_for(2, std::time::Duration::from_secs(10));
        assert_eq!(messages.len(), 2);
        let zone = Zone::with_keys(&[&rsa, &ed]);

        for m in &messages {
            let rcpt = m.rcpt_to[0].as_str();
            let wire = m.text();
            assert!(m.data.is_ascii(), "not 7-bit:\n{wire}");
            for line in wire.split("\r\n") {
                assert!(line.len() <= 998, "a line of {} octets", line.len());
            }
            let parsed = MessageParser::default().parse(&m.data).expect("parses as MIME");
            for part in &parsed.parts[1..] {
                let cte = part.content_transfer_encoding().unwrap_or("7bit");
                assert!(["7bit", "quoted-printable", "base64"].contains(&cte), "{cte}");
            }
            let rendered = &rendered[rcpt];
            let text = parsed.body_text(0).unwrap().replace("\r\n", "\n");
            assert_eq!(&text, rendered, "the text part of {rcpt} does not decode to the rendered text");
            match rcpt {
                "liam@example.net" => {
                    assert!(text.contains(&format!("https://news.example.com/long/{tail}\n")));
                    assert!(wire.contains("\r\nTo: Liam O'Brien <liam@example.net>\r\n"), "{wire}");
                }
                _ => {
                    assert!(text.contains("Городской совет одобрил новую линию трамвая"), "{text}");
                    let to = parsed.to().unwrap().first().unwrap();
                    assert_eq!(to.name(), Some("Ольга Иванова"));
                }
            }
            let results = verify(&m.data, &zone).await;
            let algorithms: Vec<_> = results.iter().map(|(r, s)| (r.clone(), s.a)).collect();
            assert_eq!(
                algorithms,
                [(DkimResult::Pass, Algorithm::RsaSha256), (DkimResult::Pass, Algorithm::Ed25519Sha256)],
                "for {rcpt}"
            );
        }
    }
}

/// Verifies every DKIM-Signature of the message on stdin with dkimpy, the
/// key records given as JSON in argv[1], and prints one True/False a line.
const DKIMPY: &str = r#"
import json, sys, dkim
records = json.loads(sys.argv[1])
def dns(name, timeout=5):
    return records.get(name.decode().rstrip("."), "").encode()
message = sys.stdin.buffer.read()
d = dkim.DKIM(message)
count = sum(1 for line in message.split(b"\r\n\r\n")[0].split(b"\r\n") if line.lower().startswith(b"dkim-signature:"))
for i in range(count):
    try:
        print(d.verify(idx=i, dnsfunc=dns))
    except dkim.ValidationError as e:
        print(False)
"#;

/// A second, unrelated verifier (Python's dkimpy) accepts both signatures
/// of a dual-signed digest and rejects them once the body changes.
#[test]
#[cfg_attr(
    not(herald_dkimpy_tests),
    ignore = "needs python3 with dkimpy and PyNaCl (pip install dkimpy pynacl, then touch build.rs)"
)]
fn dkimpy_verifies_both_signatures() {
    use std::io::Write as _;
    let (rsa, ed) = (rsa_key(false), ed25519_key());
    let dir = tempfile::tempdir().unwrap();
    let composer = composer(dir.path(), &[&rsa, &ed]);
    let records: HashMap<String, String> = [&rsa, &ed]
        .iter()
        .map(|k| (format!("{}._domainkey.{DOMAIN}", k.selector), k.record.clone()))
        .collect();
    let records = serde_json::to_string(&records).unwrap();
    let run = |message: &[u8]| {
        let mut child = std::process::Command::new("python3")
            .args(["-c", DKIMPY, &records])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs");
        child.stdin.take().unwrap().write_all(message).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "dkimpy failed");
        String::from_utf8(out.stdout).unwrap()
    };
    for name in ["Zoë Laurent", "Liam O'Brien"] {
        let raw = digest(&composer, "reader@example.org", name);
        assert_eq!(run(&raw), "True\nTrue\n", "{}", String::from_utf8_lossy(&raw));
        let tampered = tamper(&raw, "\r\n\r\n", "City council", b'c');
        assert_eq!(run(&tampered), "False\nFalse\n");
    }
}

/// An aiosmtpd server on `port` (PIPELINING is not among what it offers)
/// that writes each message it accepts, as received and un-dot-stuffed, to
/// `dir` as NNNN.eml; with `eight_bit` false it also leaves 8BITMIME out of
/// its EHLO answer. It prints `ready` once listening and stops when its
/// stdin closes.
const AIOSMTPD: &str = r#"
import os, sys
from aiosmtpd.controller import Controller
out, port, eight_bit = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
class Handler:
    count = 0
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        return [r for r in responses if eight_bit or "8BITMIME" not in r]
    async def handle_DATA(self, server, session, envelope):
        Handler.count += 1
        path = os.path.join(out, "%04d.eml" % Handler.count)
        with open(path + ".part", "wb") as f:
            f.write(envelope.original_content)
        os.rename(path + ".part", path)
        return "250 OK queued"
controller = Controller(Handler(), hostname="127.0.0.1", port=port, decode_data=False)
controller.start()
print("ready", flush=True)
sys.stdin.read()
controller.stop()
"#;

/// Herald's SMTP client against a second, unrelated SMTP server (Python's
/// aiosmtpd, which does not offer PIPELINING, so every command waits for
/// its reply), with 8BITMIME offered and without it: dual-signed digests
/// (a 2,000-octet line, non-ASCII names and subject) arrive byte for byte
/// as the .eml Herald composed, 7-bit clean, and both signatures verify on
/// what arrived.
#[tokio::test]
#[cfg_attr(
    not(herald_aiosmtpd_tests),
    ignore = "needs python3 with aiosmtpd (pip install aiosmtpd, then touch build.rs)"
)]
async fn aiosmtpd_receives_digests_that_verify_with_and_without_8bitmime() {
    use std::io::BufRead as _;
    let (rsa, ed) = (rsa_key(false), ed25519_key());
    let dir = tempfile::tempdir().unwrap();
    let composer = composer(dir.path(), &[&rsa, &ed]);
    let zone = Zone::with_keys(&[&rsa, &ed]);
    let env = TestEnv::sqlite();
    for eight_bit in [true, false] {
        let inbox = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = std::process::Command::new("python3")
            .args(["-c", AIOSMTPD, inbox.path().to_str().unwrap(), &port.to_string()])
            .arg(if eight_bit { "1" } else { "0" })
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut ready = String::new();
        std::io::BufReader::new(server.stdout.take().unwrap())
            .read_line(&mut ready)
            .unwrap();
        assert_eq!(ready.trim(), "ready", "aiosmtpd did not start");

        let config = env.config(&Settings::smtp_port(port));
        let mailer = herald::mail::Mailer::smtp(&config.mail, &config.delivery);
        let probe = mailer
            .probe()
            .await
            .expect("an SMTP mailer")
            .expect("aiosmtpd answers");
        assert!(!probe.offers.pipelining, "{probe:?}");
        assert_eq!(probe.offers.eight_bit_mime, eight_bit, "{probe:?}");
        let emails: Vec<_> = [
            ("zoe@example.org", "Zoë Laurent"),
            ("liam@example.org", "Liam O'Brien"),
        ]
        .iter()
        .map(|(to, name)| digest_email(&composer, to, name))
        .collect();
        let mut session = mailer.session();
        for email in &emails {
            session.send(email).await.expect("aiosmtpd accepts the digest");
        }
        session.close().await;
        drop(server.stdin.take());
        server.wait().unwrap();

        let mut files: Vec<_> = std::fs::read_dir(inbox.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        files.sort();
        assert_eq!(files.len(), emails.len(), "8BITMIME offered: {eight_bit}");
        for (email, file) in emails.iter().zip(&files) {
            let received = std::fs::read(file).unwrap();
            assert_eq!(
                String::from_utf8_lossy(&received),
                String::from_utf8_lossy(&email.to_bytes()),
                "what aiosmtpd received is the .eml Herald composed"
            );
            assert!(received.is_ascii(), "7-bit clean");
            let results = verify(&received, &zone).await;
            assert_eq!(results.len(), 2);
            for (result, signature) in &results {
                assert_eq!(*result, DkimResult::Pass, "{signature:?}");
            }
        }
    }
}

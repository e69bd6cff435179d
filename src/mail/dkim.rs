//! DKIM signing (RFC 6376) with aws-lc-rs: rsa-sha256 and ed25519-sha256 (RFC
//! 8463), relaxed/relaxed canonicalization, one or two signatures per
//! message (dual signing: one RSA and one Ed25519 key). It signs the final
//! serialized message, the bytes that go on the wire, so what is signed is
//! exactly what is sent: it reads the header block itself, hashes the body
//! once for all signatures, and prepends the `DKIM-Signature` headers.
//! Pure: no IO, and the clock (`t=`) is passed in. It must not re-encode or
//! reorder anything of the message it signs.
//!
//! Herald signs with its own signer rather than lettre's (the `rsa` crate:
//! a fraction of the speed and RUSTSEC-2023-0071) or mail-auth's (its
//! signer cannot oversign a present header, hashes the body once per
//! signature, and its crypto features would unify with the test verifier's,
//! leaving the tests without an independent verifier). aws-lc-rs rather
//! than ring: on CPUs with AVX-512 IFMA its RSA is about five times faster
//! (ARCHITECTURE.md has the figures).

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::RSA_PKCS1_SHA256;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::config::{DkimConfig, DkimKeyPair};

/// The headers signed when present, in `h=` order (RFC 6376 §5.4.1, RFC
/// 8058 §4 for the one-click unsubscribe headers). Each instance present is
/// signed; `From` is also named once more than present ("oversigned"), so
/// a `From` added on the way breaks the signature.
const SIGNED_HEADERS: [&str; 12] = [
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "Feedback-ID",
    "Reply-To",
];

/// The header oversigned.
const OVERSIGNED: &str = "From";

/// Folded header lines stay within RFC 5322's recommended 78 characters.
const LINE: usize = 76;

/// Signs messages with one or two keys.
pub(super) struct Signer {
    keys: Vec<SigningKey>,
    rng: SystemRandom,
}

struct SigningKey {
    domain: String,
    selector: String,
    key: crate::config::DkimKey,
}

impl Signer {
    /// A signer for the configured keys; `None` when there are none.
    pub(super) fn new(keys: &[DkimConfig]) -> Option<Signer> {
        if keys.is_empty() {
            return None;
        }
        Some(Signer {
            keys: keys
                .iter()
                .map(|d| SigningKey {
                    domain: d.domain.clone(),
                    selector: d.selector.clone(),
                    key: d.key.clone(),
                })
                .collect(),
            rng: SystemRandom::new(),
        })
    }

    /// `message` (CRLF line endings, as lettre's `formatted()` writes it)
    /// with one `DKIM-Signature` header per key prepended; `now` is the
    /// signing time (`t=`) in seconds since the Unix epoch.
    pub(super) fn sign(&self, message: &[u8], now: u64) -> anyhow::Result<Vec<u8>> {
        let (header_block, body) = split(message);
        let headers = parse_headers(header_block);

        let mut canonical = Vec::with_capacity(body.len() + 2);
        relaxed_body(body, &mut canonical);
        let body_hash = BASE64.encode(digest(&SHA256, &canonical));

        // The signed header data (RFC 6376 §5.4.2): for each name, its
        // instances from the bottom up; a name listed beyond the instances
        // present contributes nothing (and fails verification once added).
        let mut names: Vec<&str> = Vec::with_capacity(SIGNED_HEADERS.len() + 2);
        canonical.clear();
        for name in SIGNED_HEADERS {
            for h in headers
                .iter()
                .rev()
                .filter(|h| h.name.eq_ignore_ascii_case(name.as_bytes()))
            {
                names.push(name);
                relaxed_header(h.name, h.value, &mut canonical);
                canonical.extend_from_slice(b"\r\n");
            }
            if name == OVERSIGNED {
                names.push(name);
            }
        }
        let signed_len = canonical.len();

        let mut out = Vec::with_capacity(message.len() + 600 * self.keys.len());
        for key in &self.keys {
            let algorithm = match key.key.key_pair() {
                DkimKeyPair::Rsa(_) => "rsa-sha256",
                DkimKeyPair::Ed25519(_) => "ed25519-sha256",
            };
            let mut value = format!(
                "v=1; a={algorithm}; c=relaxed/relaxed; d={}; s={};\r\n\tt={now}; h=",
                key.domain, key.selector
            );
            let mut column = "\tt=; h=".len() + now.to_string().len();
            for (i, name) in names.iter().enumerate() {
                if i > 0 {
                    if column + 1 + name.len() > LINE {
                        value.push_str(":\r\n\t");
                        column = 1;
                    } else {
                        value.push(':');
                        column += 1;
                    }
                }
                value.push_str(name);
                column += name.len();
            }
            value.push_str(";\r\n\tbh=");
            value.push_str(&body_hash);
            value.push_str(";\r\n\tb=");

            // The signature covers the signed headers and this header with
            // an empty b=, canonicalized, without its final CRLF.
            canonical.truncate(signed_len);
            relaxed_header(b"DKIM-Signature", value.as_bytes(), &mut canonical);
            let signature = match key.key.key_pair() {
                DkimKeyPair::Rsa(pair) => {
                    let mut signature = vec![0; pair.public_modulus_len()];
                    pair.sign(&RSA_PKCS1_SHA256, &self.rng, &canonical, &mut signature)
                        .map_err(|_| {
                            anyhow::anyhow!("RSA signing failed for DKIM selector {}", key.selector)
                        })?;
                    signature
                }
                // RFC 8463 §3: Ed25519 signs the SHA-256 hash of the data.
                DkimKeyPair::Ed25519(pair) => {
                    pair.sign(digest(&SHA256, &canonical).as_ref()).as_ref().to_vec()
                }
            };

            out.extend_from_slice(b"DKIM-Signature: ");
            out.extend_from_slice(value.as_bytes());
            let b = BASE64.encode(signature);
            let mut rest = b.as_bytes();
            let mut room = LINE - "\tb=".len();
            while !rest.is_empty() {
                let (line, tail) = rest.split_at(room.min(rest.len()));
                out.extend_from_slice(line);
                if !tail.is_empty() {
                    out.extend_from_slice(b"\r\n\t");
                }
                rest = tail;
                room = LINE - 1;
            }
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(message);
        Ok(out)
    }
}

/// One header field: its name and its value (after the colon, folding
/// included, without the final CRLF).
struct Field<'a> {
    name: &'a [u8],
    value: &'a [u8],
}

/// The header block (up to and including the CRLF of its last line) and
/// the body (after the empty line).
fn split(message: &[u8]) -> (&[u8], &[u8]) {
    if message.starts_with(b"\r\n") {
        return (&[], &message[2..]);
    }
    match message.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(at) => (&message[..at + 2], &message[at + 4..]),
        None => (message, &[]),
    }
}

/// The fields of a header block: a line starting with a space or tab
/// continues the field above it.
fn parse_headers(block: &[u8]) -> Vec<Field<'_>> {
    let mut fields: Vec<(usize, usize)> = Vec::with_capacity(24);
    let mut start = 0;
    while start < block.len() {
        let end = block[start..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .map_or(block.len(), |i| start + i);
        match (block[start], fields.last_mut()) {
            (b' ' | b'\t', Some(last)) => last.1 = end,
            _ => fields.push((start, end)),
        }
        start = end + 2;
    }
    fields
        .into_iter()
        .filter_map(|(start, end)| {
            let line = &block[start..end];
            let colon = line.iter().position(|&b| b == b':')?;
            Some(Field {
                name: &line[..colon],
                value: &line[colon + 1..],
            })
        })
        .collect()
}

/// RFC 6376 §3.4.2: the name lower-cased, without whitespace before the
/// colon; the value unfolded, each run of whitespace one space, none at
/// either end. No CRLF is written.
fn relaxed_header(name: &[u8], value: &[u8], out: &mut Vec<u8>) {
    let name_end = name
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(0, |i| i + 1);
    out.extend(name[..name_end].iter().map(u8::to_ascii_lowercase));
    out.push(b':');
    let mut space = false;
    let mut started = false;
    for &b in value {
        // CR and LF in a value are only ever folding (CRLF followed by
        // whitespace): unfolding removes them and the whitespace run
        // becomes one space.
        if matches!(b, b' ' | b'\t' | b'\r' | b'\n') {
            space = true;
        } else {
            if space && started {
                out.push(b' ');
            }
            space = false;
            started = true;
            out.push(b);
        }
    }
}

/// RFC 6376 §3.4.4: each run of whitespace in a line one space, none at
/// the end of a line, no empty lines at the end, and a non-empty body ends
/// with CRLF. One pass that copies runs of text whole.
fn relaxed_body(body: &[u8], out: &mut Vec<u8>) {
    // Line ends owed before the next text: the previous line's own, and
    // those of empty lines, which are dropped if nothing follows them.
    let mut owed = 0usize;
    let mut line_has_text = false;
    let mut any_text = false;
    let mut space = false;
    let n = body.len();
    let mut i = 0;
    while i < n {
        match body[i] {
            b' ' | b'\t' => {
                space = true;
                i += 1;
            }
            b'\r' if body.get(i + 1) == Some(&b'\n') => {
                owed = if line_has_text { 1 } else { owed + 1 };
                line_has_text = false;
                space = false;
                i += 2;
            }
            _ => {
                let start = i;
                i += 1;
                while i < n && !matches!(body[i], b' ' | b'\t' | b'\r') {
                    i += 1;
                }
                if !line_has_text {
                    for _ in 0..owed {
                        out.extend_from_slice(b"\r\n");
                    }
                    owed = 0;
                    line_has_text = true;
                    any_text = true;
                }
                if space {
                    out.push(b' ');
                    space = false;
                }
                out.extend_from_slice(&body[start..i]);
            }
        }
    }
    if any_text {
        out.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(input: &str) -> String {
        let mut out = Vec::new();
        relaxed_body(input.as_bytes(), &mut out);
        String::from_utf8(out).unwrap()
    }

    fn header(name: &str, value: &str) -> String {
        let mut out = Vec::new();
        relaxed_header(name.as_bytes(), value.as_bytes(), &mut out);
        String::from_utf8(out).unwrap()
    }

    /// The examples of RFC 6376 §3.4.6, and the edges of §3.4.4.
    #[test]
    fn relaxed_canonicalization_follows_the_rfc() {
        assert_eq!(header("A", " X"), "a:X");
        assert_eq!(header("B ", " Y\t\r\n\tZ  "), "b:Y Z");
        assert_eq!(body(" C \r\nD \t E\r\n\r\n\r\n"), " C\r\nD E\r\n");
        assert_eq!(body(""), "");
        assert_eq!(body("\r\n\r\n"), "");
        assert_eq!(body(" \t\r\n"), "");
        assert_eq!(body("no final line end"), "no final line end\r\n");
        assert_eq!(body("\r\n  \r\nx\r\n\r\ny  \r\n \r\n"), "\r\n\r\nx\r\n\r\ny\r\n");
        assert_eq!(body("a\rb\r\n"), "a\rb\r\n");
    }

    #[test]
    fn header_fields_are_read_with_their_folding() {
        let block = b"From: a@example.com\r\nSubject: one\r\n two\r\n\tthree\r\nX:\r\n";
        let fields = parse_headers(block);
        let read: Vec<(&[u8], &[u8])> = fields.iter().map(|f| (f.name, f.value)).collect();
        assert_eq!(
            read,
            [
                (&b"From"[..], &b" a@example.com"[..]),
                (b"Subject", b" one\r\n two\r\n\tthree"),
                (b"X", b""),
            ]
        );
        let (headers, body) = split(b"A: 1\r\nB: 2\r\n\r\nbody\r\n");
        assert_eq!((headers, body), (&b"A: 1\r\nB: 2\r\n"[..], &b"body\r\n"[..]));
    }
}

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

use aws_lc_rs::digest::{Context, SHA256, digest};
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

        let mut hash = Context::new(&SHA256);
        relaxed_body(body, |segment| hash.update(segment));
        let body_hash = BASE64.encode(hash.finish());

        let (mut canonical, names) = signed_header_data(&headers);
        let signed_len = canonical.len();

        let mut out = Vec::with_capacity(message.len() + 600 * self.keys.len());
        for key in &self.keys {
            let value = key.tags(now, &names, &body_hash);
            // The signature covers the signed headers and this header with
            // an empty b=, canonicalized, without its final CRLF.
            canonical.truncate(signed_len);
            relaxed_header(b"DKIM-Signature", value.as_bytes(), &mut canonical);
            let signature = self.signature(key, &canonical)?;
            out.extend_from_slice(b"DKIM-Signature: ");
            out.extend_from_slice(value.as_bytes());
            push_folded(&mut out, &BASE64.encode(signature));
        }
        out.extend_from_slice(message);
        Ok(out)
    }

    /// `key`'s signature of the canonical header data.
    fn signature(&self, key: &SigningKey, data: &[u8]) -> anyhow::Result<Vec<u8>> {
        Ok(match key.key.key_pair() {
            DkimKeyPair::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &self.rng, data, &mut signature)
                    .map_err(|_| anyhow::anyhow!("RSA signing failed for DKIM selector {}", key.selector))?;
                signature
            }
            // RFC 8463 §3: Ed25519 signs the SHA-256 hash of the data.
            DkimKeyPair::Ed25519(pair) => pair.sign(digest(&SHA256, data).as_ref()).as_ref().to_vec(),
        })
    }
}

impl SigningKey {
    /// The DKIM-Signature value up to an empty `b=`, folded: the header
    /// list `h=` wraps at [`LINE`] columns.
    fn tags(&self, now: u64, names: &[&str], body_hash: &str) -> String {
        let algorithm = match self.key.key_pair() {
            DkimKeyPair::Rsa(_) => "rsa-sha256",
            DkimKeyPair::Ed25519(_) => "ed25519-sha256",
        };
        let mut value = format!(
            "v=1; a={algorithm}; c=relaxed/relaxed; d={}; s={};\r\n\tt={now}; h=",
            self.domain, self.selector
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
        value.push_str(body_hash);
        value.push_str(";\r\n\tb=");
        value
    }
}

/// The signed header data (RFC 6376 §5.4.2), relaxed, and the names for
/// `h=`: for each name, its instances from the bottom up; a name listed
/// beyond the instances present contributes nothing (and fails
/// verification once added), which is how From is oversigned. A digest's
/// signed headers are well under 2 KB.
fn signed_header_data(headers: &[Field<'_>]) -> (Vec<u8>, Vec<&'static str>) {
    let mut canonical = Vec::with_capacity(2048);
    let mut names = Vec::with_capacity(SIGNED_HEADERS.len() + 2);
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
    (canonical, names)
}

/// Appends the base64 signature `b` after a header ending in `b=`, folded
/// at [`LINE`] columns, and the header's CRLF.
fn push_folded(out: &mut Vec<u8>, b: &str) {
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
/// with CRLF. The canonical body goes to `out` in segments, most of them
/// long stretches of `body` as it is, so it is hashed without a copy.
///
/// A line ends at CRLF; a lone CR or LF is text. Only three things change
/// a body: a tab, two spaces in a row, and a space before CRLF. They are
/// found with memchr's vectorized searches, and the whitespace run around
/// each is rewritten (one space, or nothing before CRLF); the rest of the
/// body is passed on untouched. What follows the last text (spaces, tabs,
/// empty lines) becomes the one final CRLF.
fn relaxed_body(body: &[u8], mut out: impl FnMut(&[u8])) {
    let is_space = |b: u8| b == b' ' || b == b'\t';
    // The end of the last text: back over whitespace and CRLF pairs.
    let mut end = body.len();
    while end > 0 {
        match body[end - 1] {
            b' ' | b'\t' => end -= 1,
            b'\n' if end >= 2 && body[end - 2] == b'\r' => end -= 2,
            _ => break,
        }
    }
    if end == 0 {
        return;
    }
    let text = &body[..end];
    // Where a whitespace run needs rewriting, in order. Every run in
    // `text` is followed by text or by CRLF, since `text` ends in text.
    let mut marks: Vec<usize> = memchr::memchr_iter(b'\t', text)
        .chain(memchr::memmem::find_iter(text, b"  "))
        .chain(memchr::memmem::find_iter(text, b" \r\n"))
        .collect();
    marks.sort_unstable();
    let mut copied = 0;
    for mark in marks {
        if mark < copied {
            // Inside a run already rewritten.
            continue;
        }
        let mut start = mark;
        while start > copied && is_space(text[start - 1]) {
            start -= 1;
        }
        let mut stop = mark;
        while stop < text.len() && is_space(text[stop]) {
            stop += 1;
        }
        out(&text[copied..start]);
        if !text[stop..].starts_with(b"\r\n") {
            out(b" ");
        }
        copied = stop;
    }
    out(&text[copied..]);
    out(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(input: &str) -> String {
        String::from_utf8(canonical_body(input.as_bytes())).unwrap()
    }

    fn canonical_body(input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        relaxed_body(input, |segment| out.extend_from_slice(segment));
        out
    }

    /// RFC 6376 §3.4.4 the plain way, a byte at a time: the reference the
    /// signer's segmenting canonicalization is compared with.
    fn reference_body(body: &[u8]) -> Vec<u8> {
        let mut lines: Vec<Vec<u8>> = Vec::new();
        let mut line = Vec::new();
        let mut space = false;
        let mut i = 0;
        while i < body.len() {
            match body[i] {
                b' ' | b'\t' => space = true,
                b'\r' if body.get(i + 1) == Some(&b'\n') => {
                    lines.push(std::mem::take(&mut line));
                    space = false;
                    i += 1;
                }
                b => {
                    if space {
                        line.push(b' ');
                        space = false;
                    }
                    line.push(b);
                }
            }
            i += 1;
        }
        lines.push(line);
        while lines.last().is_some_and(Vec::is_empty) {
            lines.pop();
        }
        lines
            .iter()
            .flat_map(|l| l.iter().chain(b"\r\n"))
            .copied()
            .collect()
    }

    /// Random bodies over the bytes that matter (spaces, tabs, CR, LF,
    /// text), short and long, canonicalize as the reference does.
    #[test]
    fn segmenting_canonicalization_equals_the_reference() {
        let alphabet = [b' ', b' ', b'\t', b'\r', b'\n', b'a', b'b', b'='];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..20_000 {
            let len = (next() % if round % 10 == 0 { 400 } else { 24 }) as usize;
            let mut input = Vec::with_capacity(len);
            while input.len() < len {
                match next() % 10 {
                    0..=2 => input.extend_from_slice(b"\r\n"),
                    _ => input.push(alphabet[(next() % alphabet.len() as u64) as usize]),
                }
            }
            assert_eq!(
                canonical_body(&input),
                reference_body(&input),
                "body {:?}",
                String::from_utf8_lossy(&input)
            );
        }
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

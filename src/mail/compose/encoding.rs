//! Transfer encodings of the message's parts, pure: every part leaves here
//! 7-bit safe (ASCII, CRLF line ends, no line over 998 octets), so a relay
//! without 8BITMIME takes every message as it is. The HTML part is ours, so
//! it can usually stay `7bit` even with accented names in it: characters
//! outside ASCII are written as numeric character references (`&#233;`),
//! which every HTML reader decodes, and an over-long line is broken at a
//! space where a line break means the same (between attributes, or between
//! words of text outside `<pre>`). Otherwise, and for the text part,
//! quoted-printable or base64, whichever is smaller. It knows nothing of
//! headers or MIME structure (`compose` does that).

use base64::Engine as _;

use crate::domain::text;

/// The longest line (without its CRLF) RFC 5322 allows.
pub(super) const MAX_LINE: usize = 998;

/// The longest quoted-printable line (RFC 2045 6.7), a soft break's `=`
/// included.
const QP_LINE: usize = 76;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Encoding {
    SevenBit,
    QuotedPrintable,
    Base64,
}

/// A part's body on the wire and the transfer encoding it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Encoded {
    pub body: Vec<u8>,
    pub encoding: Encoding,
}

/// A text part: 7bit when the text is ASCII with every line within 998
/// octets (the common case, copied once); otherwise quoted-printable or
/// base64, whichever comes out smaller, estimated from the count of bytes
/// quoted-printable must escape (mostly text with a few accents or one
/// over-long line: quoted-printable; Cyrillic, Greek or CJK text: base64).
/// The text is encoded with CRLF line ends (RFC 2045's canonical form).
pub(super) fn text(text: &str) -> Encoded {
    if let Some(body) = seven_bit(text) {
        return Encoded {
            body,
            encoding: Encoding::SevenBit,
        };
    }
    encode_8bit(text)
}

/// The HTML part: as it is when it is already 7-bit; else, when it comes
/// out no bigger than quoted-printable and base64 would, pure ASCII with
/// numeric character references and over-long lines broken (see the module
/// comment); else like [`text`]. Falls back when a character outside ASCII
/// sits where a reference would not be decoded (inside `<style>` or
/// `<script>`, or in a tag outside an attribute value) or a line has no
/// place to break.
pub(super) fn html(html: &str) -> Encoded {
    // Already 7-bit (the renderer writes references for most characters
    // outside ASCII): what the scanner would write, without the scan.
    if let Some(body) = seven_bit(html) {
        return Encoded {
            body,
            encoding: Encoding::SevenBit,
        };
    }
    if let Some(body) = ascii_html(html) {
        let crlf_len = html.len() + count_lf(html.as_bytes());
        // Quoted-printable adds a soft break (3 octets) every 73 or so on
        // top of its escapes, so a body within that margin is no bigger.
        if body.len() <= crlf_len + crlf_len / 25
            || body.len() <= qp_estimate(html).min(base64_size(crlf_len))
        {
            return Encoded {
                body,
                encoding: Encoding::SevenBit,
            };
        }
    }
    encode_8bit(html)
}

/// Whether the HTML part of `html` takes at most `max` octets on the wire
/// (`digest.max_html_bytes`). Cheap when it clearly fits: no encoding
/// chosen here is bigger than base64 of the text with CRLF line ends.
pub fn html_fits(html: &str, max: usize) -> bool {
    base64_size(html.len() + count_lf(html.as_bytes())) <= max || self::html(html).body.len() <= max
}

/// `text` with CRLF line ends, when it is 7-bit as it is: ASCII, no NUL or
/// CR, every line within [`MAX_LINE`].
fn seven_bit(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    // The memchr crate's searches (SIMD): the standard library's byte
    // search and `split` were a twentieth of a send's CPU here.
    if !text.is_ascii() || memchr::memchr2(0, b'\r', bytes).is_some() {
        return None;
    }
    let mut wire = Vec::with_capacity(bytes.len() + bytes.len() / 40 + 2);
    for (i, line) in lf_lines(bytes).enumerate() {
        if line.len() > MAX_LINE {
            return None;
        }
        if i > 0 {
            wire.extend_from_slice(b"\r\n");
        }
        wire.extend_from_slice(line);
    }
    Some(wire)
}

/// The lines of `bytes` between LFs (as `split(|b| b == b'\n')`, found
/// with memchr).
fn lf_lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    memchr::memchr_iter(b'\n', bytes)
        .chain(std::iter::once(bytes.len()))
        .map(move |end| {
            let line = &bytes[start..end];
            start = end + 1;
            line
        })
}

/// Quoted-printable or base64, whichever is smaller.
fn encode_8bit(text: &str) -> Encoded {
    let crlf_len = text.len() + count_lf(text.as_bytes());
    if qp_estimate(text) <= base64_size(crlf_len) {
        Encoded {
            body: quoted_printable(text),
            encoding: Encoding::QuotedPrintable,
        }
    } else {
        let mut wire = Vec::with_capacity(crlf_len);
        for (i, line) in text.split('\n').enumerate() {
            if i > 0 {
                wire.extend_from_slice(b"\r\n");
            }
            wire.extend_from_slice(line.as_bytes());
        }
        Encoded {
            body: base64_lines(&wire),
            encoding: Encoding::Base64,
        }
    }
}

fn count_lf(bytes: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', bytes).count()
}

/// A set of bytes, for the scanners' inner loops: one table look-up per
/// byte instead of a chain of comparisons (these loops were the largest
/// items of a send's profile).
struct ByteSet([bool; 256]);

/// The [`ByteSet`] of the bytes `c` for which the expression holds, made at
/// compile time.
macro_rules! byte_set {
    (|$c:ident| $e:expr) => {{
        let mut set = [false; 256];
        let mut i = 0;
        while i < 256 {
            let $c = i as u8;
            set[i] = $e;
            i += 1;
        }
        ByteSet(set)
    }};
}

impl ByteSet {
    fn has(&self, b: u8) -> bool {
        self.0[usize::from(b)]
    }

    /// How many bytes from the start of `bytes` are not in the set.
    fn run_outside(&self, bytes: &[u8]) -> usize {
        bytes.iter().position(|&b| self.has(b)).unwrap_or(bytes.len())
    }

    /// How many bytes from the start of `bytes` are in the set.
    fn run_inside(&self, bytes: &[u8]) -> usize {
        bytes.iter().position(|&b| !self.has(b)).unwrap_or(bytes.len())
    }
}

/// What quoted-printable writes as it is (RFC 2045 6.7 rule 2; tab and
/// space too, except at the end of a line).
static QP_LITERAL: ByteSet = byte_set!(|b| (b >= b'!' && b <= b'~') && b != b'=' || b == b' ' || b == b'\t');

/// The size of the quoted-printable form of `text` (with CRLF line ends),
/// near enough to choose: every byte that is not printable ASCII (or is
/// `=`) becomes three, and a soft line break (three octets) comes every 73
/// or so.
fn qp_estimate(text: &str) -> usize {
    let bytes = text.as_bytes();
    let escaped = bytes
        .iter()
        .filter(|&&b| b != b'\n' && !QP_LITERAL.has(b))
        .count();
    let encoded = bytes.len() + count_lf(bytes) + 2 * escaped;
    encoded + encoded / 73 * 3
}

/// `text` in quoted-printable (RFC 2045 6.7) with its LF line ends as hard
/// CRLF line breaks, lines of at most 76 characters. Runs of literal bytes
/// are copied whole; the `quoted_printable` crate goes byte by byte and was
/// the biggest item of a send's profile.
fn quoted_printable(text: &str) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 8 + 16);
    for (n, line) in lf_lines(bytes).enumerate() {
        if n > 0 {
            out.extend_from_slice(b"\r\n");
        }
        // Characters on the current output line.
        let mut col = 0;
        let mut i = 0;
        while i < line.len() {
            // A run of literal bytes, without the line's trailing space or
            // tab (which must be escaped).
            let mut run = QP_LITERAL.run_inside(&line[i..]);
            if i + run == line.len() && run > 0 && matches!(line[line.len() - 1], b' ' | b'\t') {
                run -= 1;
            }
            let mut rest = &line[i..i + run];
            while !rest.is_empty() {
                // Leave room for a soft break's `=`.
                let room = QP_LINE - 1 - col;
                if room == 0 {
                    out.extend_from_slice(b"=\r\n");
                    col = 0;
                    continue;
                }
                let take = rest.len().min(room);
                out.extend_from_slice(&rest[..take]);
                col += take;
                rest = &rest[take..];
            }
            i += run;
            if i < line.len() {
                let b = line[i];
                // An escape needs three columns and a following `=` one.
                let last = i + 1 == line.len();
                if col + 3 > if last { QP_LINE } else { QP_LINE - 1 } {
                    out.extend_from_slice(b"=\r\n");
                    col = 0;
                }
                out.extend_from_slice(&[b'=', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
                col += 3;
                i += 1;
            }
        }
    }
    out
}

/// The size of [`base64_lines`] of `len` bytes.
fn base64_size(len: usize) -> usize {
    let chars = len.div_ceil(3) * 4;
    chars + chars.div_ceil(76) * 2
}

/// Base64 in lines of 76 characters, each ending in CRLF (RFC 2045).
fn base64_lines(bytes: &[u8]) -> Vec<u8> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = Vec::with_capacity(base64_size(bytes.len()));
    for line in encoded.as_bytes().chunks(76) {
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Where the scanner of [`ascii_html`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Text,
    /// Inside `<…>`, outside an attribute value.
    Tag,
    /// Inside an attribute value quoted with this byte.
    Quoted(u8),
    /// Inside `<!-- … -->`.
    Comment,
    /// Inside `<style>` or `<script>`, where references are not decoded.
    Raw,
}

/// The bytes that end a run the scanner copies as it is, per context: a
/// line end, NUL, CR or a byte outside ASCII everywhere, and what can change
/// the context (markup in text, quotes and `>` in a tag, `-` of `-->` in a
/// comment, `<` of a closing tag in `<style>`/`<script>`).
static TEXT_STOPS: ByteSet = byte_set!(|c| c >= 0x80 || matches!(c, b'<' | b'\n' | b'\r' | 0));
static TAG_STOPS: ByteSet = byte_set!(|c| c >= 0x80 || matches!(c, b'"' | b'\'' | b'>' | b'\n' | b'\r' | 0));
static COMMENT_STOPS: ByteSet = byte_set!(|c| c >= 0x80 || matches!(c, b'-' | b'\n' | b'\r' | 0));
static RAW_STOPS: ByteSet = byte_set!(|c| c >= 0x80 || matches!(c, b'<' | b'\n' | b'\r' | 0));

/// What [`tag_run`] found.
struct TagRun {
    /// Bytes taken, the closing `>` included when `closed`.
    len: usize,
    /// The quote of the attribute value the run ends in, if any.
    quote: Option<u8>,
    closed: bool,
    /// The last space outside attribute values, from the run's start.
    last_space: Option<usize>,
}

/// Bytes a tag's scan must look at: quotes, `>`, space, and what ends a
/// run everywhere.
static TAG_BYTES: ByteSet =
    byte_set!(|c| c >= 0x80 || matches!(c, b'"' | b'\'' | b'>' | b' ' | b'\n' | b'\r' | 0));

/// In a tag (`ctx`), the [`tag_run`] from the start of `bytes` and the
/// context after it, when it is more than a byte and at most `room` long.
fn fitting_tag_run(bytes: &[u8], ctx: Ctx, opens_raw: bool, room: usize) -> Option<(TagRun, Ctx)> {
    let quote = match ctx {
        Ctx::Tag => None,
        Ctx::Quoted(q) => Some(q),
        _ => return None,
    };
    let run = tag_run(bytes, quote);
    if run.len <= 1 || run.len > room {
        return None;
    }
    let next = match (run.closed, run.quote) {
        (true, _) if opens_raw => Ctx::Raw,
        (true, _) => Ctx::Text,
        (false, Some(q)) => Ctx::Quoted(q),
        (false, None) => Ctx::Tag,
    };
    Some((run, next))
}

/// The run of a tag from the start of `bytes` (inside the attribute value
/// quoted with `quote`, if any): up to and including the `>` that closes
/// it, or up to (not including) a line end, NUL, CR or byte outside ASCII.
fn tag_run(bytes: &[u8], mut quote: Option<u8>) -> TagRun {
    let mut last_space = None;
    let mut j = 0;
    while j < bytes.len() {
        let c = bytes[j];
        if !TAG_BYTES.has(c) {
            j += 1;
            continue;
        }
        match (quote, c) {
            (_, 0x80.. | b'\n' | b'\r' | 0) => break,
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(c),
            (None, b' ') => last_space = Some(j),
            (None, _) => {
                return TagRun {
                    len: j + 1,
                    quote: None,
                    closed: true,
                    last_space,
                };
            }
        }
        j += 1;
    }
    TagRun {
        len: j,
        quote,
        closed: false,
        last_space,
    }
}

/// `html` as pure ASCII with CRLF line ends: every character outside ASCII
/// as a decimal numeric character reference, and each line longer than
/// [`MAX_LINE`] broken at its last space where a line break is the same
/// whitespace (inside a tag outside attribute values, or in text outside
/// `<pre>` and `<textarea>`). `None` when that cannot be done: a character
/// outside ASCII inside `<style>`/`<script>` or a tag's name, a NUL or CR,
/// or a line with no place to break.
fn ascii_html(html: &str) -> Option<Vec<u8>> {
    let bytes = html.as_bytes();
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 32 + 64);
    let mut markup = Markup {
        ctx: Ctx::Text,
        opens_raw: false,
        pre: 0,
    };
    let mut line_start = 0;
    let mut last_break: Option<usize> = None;
    let mut i = 0;
    while i < bytes.len() {
        // Fast path for markup: the rest of a tag, its quoted attribute
        // values included, up to its `>` (or to a byte the slow path must
        // see), copied whole when it fits on the line. Tags are most of a
        // digest's HTML, and stepping through each quote one at a time was
        // the scanner's main cost.
        let room = (MAX_LINE + line_start).saturating_sub(out.len());
        if let Some((run, next)) = fitting_tag_run(&bytes[i..], markup.ctx, markup.opens_raw, room) {
            if let Some(k) = run.last_space {
                last_break = Some(out.len() + k);
            }
            out.extend_from_slice(&bytes[i..i + run.len]);
            i += run.len;
            markup.ctx = next;
            continue;
        }
        // Fast path: a run of text or of an attribute value that changes
        // nothing (no markup, line end or character outside ASCII) and
        // fits on the line is copied whole.
        let stops = match markup.ctx {
            Ctx::Text => &TEXT_STOPS,
            Ctx::Tag | Ctx::Quoted(_) => &TAG_STOPS,
            Ctx::Comment => &COMMENT_STOPS,
            Ctx::Raw => &RAW_STOPS,
        };
        let run = stops.run_outside(&bytes[i..]);
        if run > 1 && out.len() + run - line_start <= MAX_LINE {
            let text = &bytes[i..i + run];
            if (markup.ctx == Ctx::Text && markup.pre == 0 || markup.ctx == Ctx::Tag)
                && let Some(k) = memchr::memrchr(b' ', text)
            {
                last_break = Some(out.len() + k);
            }
            out.extend_from_slice(text);
            i += run;
            continue;
        }
        let b = bytes[i];
        match b {
            b'\n' => {
                out.extend_from_slice(b"\r\n");
                line_start = out.len();
                last_break = None;
                i += 1;
                continue;
            }
            0 | b'\r' => return None,
            0x80.. => {
                if !matches!(markup.ctx, Ctx::Text | Ctx::Quoted(_) | Ctx::Comment) {
                    return None;
                }
                // `i` is on a character boundary: every step moves by whole
                // characters.
                let c = html[i..].chars().next()?;
                out.extend_from_slice(text::numeric_reference(c).as_bytes());
                i += c.len_utf8();
            }
            _ => {
                let (len, breaks) = markup.step(bytes, i);
                if breaks {
                    last_break = Some(out.len());
                }
                out.extend_from_slice(&bytes[i..i + len]);
                i += len;
            }
        }
        if out.len() - line_start > MAX_LINE {
            // Break at the last place seen on this line; what follows it
            // is shorter than the line was.
            let at = last_break.take()?;
            out[at] = b'\r';
            out.insert(at + 1, b'\n');
            line_start = at + 2;
        }
    }
    Some(out)
}

/// Where [`ascii_html`]'s scanner is in the markup.
struct Markup {
    ctx: Ctx,
    /// The tag being read opens `<style>` or `<script>`.
    opens_raw: bool,
    /// How many `<pre>` or `<textarea>` elements are open.
    pre: usize,
}

impl Markup {
    /// Reads the ASCII byte at `bytes[i]` (not a line end, NUL or CR):
    /// enters the context it starts or leaves the one it ends, and says how
    /// many bytes it takes (a comment's `<!--` and `-->` are read whole) and
    /// whether a line may break at it.
    fn step(&mut self, bytes: &[u8], i: usize) -> (usize, bool) {
        let b = bytes[i];
        match self.ctx {
            Ctx::Text if b == b'<' => {
                let rest = &bytes[i + 1..];
                if rest.starts_with(b"!--") {
                    self.ctx = Ctx::Comment;
                    return (4, false);
                }
                if rest
                    .first()
                    .is_some_and(|c| c.is_ascii_alphabetic() || b"/!".contains(c))
                {
                    self.ctx = Ctx::Tag;
                    let name_len = rest
                        .iter()
                        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'/' || **c == b'!')
                        .count();
                    let name = &rest[..name_len];
                    let is = |n: &[u8]| name.eq_ignore_ascii_case(n);
                    self.opens_raw = is(b"style") || is(b"script");
                    if is(b"pre") || is(b"textarea") {
                        self.pre += 1;
                    } else if is(b"/pre") || is(b"/textarea") {
                        self.pre = self.pre.saturating_sub(1);
                    }
                }
                (1, false)
            }
            Ctx::Text => (1, b == b' ' && self.pre == 0),
            Ctx::Tag => {
                match b {
                    b'"' | b'\'' => self.ctx = Ctx::Quoted(b),
                    b'>' => self.ctx = if self.opens_raw { Ctx::Raw } else { Ctx::Text },
                    _ => {}
                }
                (1, b == b' ')
            }
            Ctx::Quoted(q) => {
                if b == q {
                    self.ctx = Ctx::Tag;
                }
                (1, false)
            }
            Ctx::Comment if bytes[i..].starts_with(b"-->") => {
                self.ctx = Ctx::Text;
                (3, false)
            }
            Ctx::Comment => (1, false),
            Ctx::Raw => {
                let rest = &bytes[i + 1..];
                let closes = |n: &[u8]| rest.len() >= n.len() && rest[..n.len()].eq_ignore_ascii_case(n);
                if b == b'<' && (closes(b"/style") || closes(b"/script")) {
                    self.ctx = Ctx::Tag;
                    self.opens_raw = false;
                }
                (1, false)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_qp(encoded: &[u8]) -> String {
        let bytes = quoted_printable::decode(encoded, quoted_printable::ParseMode::Strict).unwrap();
        String::from_utf8(bytes).unwrap()
    }

    fn decode(e: &Encoded) -> String {
        match e.encoding {
            Encoding::SevenBit => String::from_utf8(e.body.clone()).unwrap(),
            Encoding::QuotedPrintable => decode_qp(&e.body),
            Encoding::Base64 => {
                let joined: Vec<u8> = e.body.iter().copied().filter(|b| !b"\r\n".contains(b)).collect();
                String::from_utf8(base64::engine::general_purpose::STANDARD.decode(joined).unwrap()).unwrap()
            }
        }
    }

    fn longest_line(wire: &[u8]) -> usize {
        wire.split(|&b| b == b'\n')
            .map(|line| line.strip_suffix(b"\r").unwrap_or(line).len())
            .max()
            .unwrap_or(0)
    }

    /// Every line ends in CRLF: no bare CR or LF.
    fn crlf_only(wire: &[u8]) -> bool {
        wire.iter().enumerate().all(|(i, &b)| match b {
            b'\r' => wire.get(i + 1) == Some(&b'\n'),
            b'\n' => i > 0 && wire[i - 1] == b'\r',
            _ => true,
        })
    }

    /// Each text part gets the cheapest 7-bit-safe encoding, and decodes
    /// back to the text with CRLF line ends.
    #[test]
    fn text_parts_are_seven_bit_safe_and_decode_back() {
        let long = "x".repeat(2000);
        let cases = [
            ("Plain ASCII,\nshort lines.\n".to_owned(), Encoding::SevenBit),
            (format!("{}\n", "y".repeat(MAX_LINE)), Encoding::SevenBit),
            (format!("A long line:\n{long}\n"), Encoding::QuotedPrintable),
            (
                "Café, crème brûlée and a few accents.\n".to_owned(),
                Encoding::QuotedPrintable,
            ),
            (
                "Доброе утро! Вот главные новости дня.\n".repeat(20),
                Encoding::Base64,
            ),
            ("NUL\0inside\n".to_owned(), Encoding::QuotedPrintable),
        ];
        for (text, expected) in cases {
            let e = super::text(&text);
            assert_eq!(e.encoding, expected, "{text:.40}");
            assert!(e.body.is_ascii(), "{expected:?} is not 7-bit");
            assert!(crlf_only(&e.body));
            let max = if expected == Encoding::SevenBit {
                MAX_LINE
            } else {
                QP_LINE
            };
            assert!(longest_line(&e.body) <= max);
            assert_eq!(decode(&e), text.replace('\n', "\r\n"));
            // The choice is the smaller of the two (within the estimate's
            // slack of a soft line break).
            if e.encoding != Encoding::SevenBit {
                let crlf = text.replace('\n', "\r\n");
                let qp = quoted_printable::encode(crlf.as_bytes()).len();
                let b64 = base64_size(crlf.len());
                let chosen = if e.encoding == Encoding::Base64 { b64 } else { qp };
                assert!(
                    chosen <= qp.min(b64) + 3,
                    "{:?}: qp {qp}, base64 {b64}",
                    e.encoding
                );
            }
        }
    }

    /// The quoted-printable encoder against the `quoted_printable` crate's
    /// decoder and RFC 2045's rules, on the awkward places: escapes at the
    /// line limit, trailing spaces and tabs, `=`, control bytes, lines
    /// exactly 75 and 76 long, empty lines.
    #[test]
    fn quoted_printable_decodes_back_within_the_line_limit() {
        let mut cases: Vec<String> = vec![
            String::new(),
            "\n\n".into(),
            "trailing space \nand tab\t\n".into(),
            "a=b, 100% = all\n".into(),
            " \t \n".into(),
            "ctrl \u{1}\u{7f} and\rcr\n".into(),
            "é".repeat(60),
        ];
        for n in 70..=80 {
            cases.push("x".repeat(n));
            cases.push(format!("{}é", "x".repeat(n)));
            cases.push(format!("{}=y", "x".repeat(n)));
            cases.push(format!("{} ", "x".repeat(n)));
            cases.push(format!("{}é\n{}", "x".repeat(n), "é".repeat(n)));
        }
        for text in cases {
            let encoded = quoted_printable(&text);
            assert!(encoded.is_ascii() && crlf_only(&encoded), "{text:?}");
            assert!(
                longest_line(&encoded) <= QP_LINE,
                "{text:?}: {}",
                String::from_utf8_lossy(&encoded)
            );
            for line in encoded.split(|&b| b == b'\n') {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                assert!(
                    !matches!(line.last(), Some(b' ' | b'\t')),
                    "{text:?}: trailing whitespace"
                );
            }
            assert_eq!(decode_qp(&encoded), text.replace('\n', "\r\n"), "{text:?}");
        }
    }

    /// The text an HTML reader sees: references decoded (html-escape's
    /// decoder, not ours).
    fn unreference(s: &str) -> String {
        html_escape::decode_html_entities(s).into_owned()
    }

    /// An HTML part with accents stays 7bit: the same document once the
    /// references are read and the inserted line breaks are taken as the
    /// spaces they replace.
    /// The fast path for HTML that is ASCII already writes what the
    /// scanner writes, whatever the markup: tags, quotes, comments,
    /// `<style>`, `<pre>`, empty lines, a last line without LF.
    #[test]
    fn ascii_html_takes_the_fast_path_to_the_same_bytes() {
        let pieces = [
            "<!DOCTYPE html>\n<html lang=\"en\">\n",
            "<style>p { color: red; }</style>\n",
            "<!-- a comment with <b> in it -->\n",
            "<p class='x' data-a=\"1 > 0\">Caf&#233; &amp; tea</p>\n",
            "<pre>  two  spaces\n\n</pre>",
            "\n\n",
            "end without a line feed",
        ];
        for n in 0..pieces.len() {
            let doc: String = pieces[..=n].concat();
            assert_eq!(seven_bit(&doc), ascii_html(&doc), "{doc:?}");
            assert_eq!(html(&doc).encoding, Encoding::SevenBit);
        }
        let long = format!("<p>{}</p>", "word ".repeat(300));
        assert_eq!(seven_bit(&long), None, "a line over 998 octets is the scanner's");
        assert!(longest_line(&html(&long).body) <= MAX_LINE);
    }

    #[test]
    fn html_with_accents_is_seven_bit_ascii() {
        let html = "<!DOCTYPE html>\n<html><head><style>p { color: red; }</style></head>\n<body>\n\
                    <p class=\"meta\">by Élodie Marchand &middot; Tomás</p>\n\
                    <img alt=\"Zoë's café\" src=\"https://x.example/a.jpg\">\n\
                    <p>emoji 🎉 and &#8199;</p>\n</body></html>\n";
        let e = super::html(html);
        assert_eq!(e.encoding, Encoding::SevenBit);
        let wire = String::from_utf8(e.body.clone()).unwrap();
        assert!(wire.is_ascii() && crlf_only(&e.body));
        assert!(
            wire.contains("by &#201;lodie Marchand &middot; Tom&#225;s"),
            "{wire}"
        );
        assert!(wire.contains("alt=\"Zo&#235;'s caf&#233;\""), "{wire}");
        assert!(wire.contains("emoji &#127881; and &#8199;"), "{wire}");
        assert_eq!(unreference(&wire), unreference(&html.replace('\n', "\r\n")));
        // Plain ASCII HTML is copied as it is.
        let plain = "<p>plain</p>\n<p>ascii</p>\n";
        assert_eq!(super::html(plain).body, b"<p>plain</p>\r\n<p>ascii</p>\r\n");
    }

    /// A line over 998 octets is broken at a space in a tag or in text,
    /// never inside an attribute value or `<pre>`; with no such space the
    /// part falls back to quoted-printable.
    #[test]
    fn long_html_lines_break_where_whitespace_is_whitespace() {
        let words = "mot ".repeat(400);
        let attr = format!("<a title=\"{}\" href=\"x\">", "t ".repeat(300));
        let html = format!("<p>{words}</p>{attr}<b>Zoë</b></a>\n");
        let e = super::html(&html);
        assert_eq!(e.encoding, Encoding::SevenBit);
        assert!(longest_line(&e.body) <= MAX_LINE);
        let wire = String::from_utf8(e.body).unwrap();
        // The breaks replaced spaces, none of them inside the title.
        assert_eq!(
            unreference(&wire.replace("\r\n", " ")).trim_end(),
            html.trim_end()
        );
        assert!(wire.contains(&format!("title=\"{}\"", "t ".repeat(300))));

        for unbreakable in [
            format!("<p>{}</p>\n", "x".repeat(1200)),
            format!("<pre>{}</pre>\n", "x ".repeat(600)),
            format!("<a href=\"{}\">x</a>\n", "y".repeat(1200)),
        ] {
            let e = super::html(&unbreakable);
            assert_eq!(e.encoding, Encoding::QuotedPrintable, "{unbreakable:.30}");
            assert_eq!(decode(&e), unbreakable.replace('\n', "\r\n"));
        }
    }

    /// Where a reference would not be decoded, or ASCII would be bigger
    /// than base64, the part is encoded as text is.
    #[test]
    fn html_falls_back_where_references_do_not_fit() {
        let in_style = "<style>p::before { content: \"é\"; }</style><p>x</p>\n";
        let e = super::html(in_style);
        assert_eq!(e.encoding, Encoding::QuotedPrintable);
        assert_eq!(decode(&e), in_style.replace('\n', "\r\n"));
        let in_script = "<SCRIPT>var s = 'é';</SCRIPT>\n";
        assert_eq!(super::html(in_script).encoding, Encoding::QuotedPrintable);
        // After the style element closes, references are fine again.
        let after = "<style>p{}</style><p>é</p>\n";
        assert_eq!(super::html(after).encoding, Encoding::SevenBit);
        let cyrillic = format!("<p>{}</p>\n", "Доброе утро! Вот главные новости дня. ".repeat(20));
        let e = super::html(&cyrillic);
        assert_eq!(e.encoding, Encoding::Base64);
        assert_eq!(decode(&e), cyrillic.replace('\n', "\r\n"));
    }

    /// Random markup (tags with quoted and unquoted attributes, accents
    /// in text, attribute values and comments, `<style>`, `<pre>`, long
    /// lines): whenever the scanner makes ASCII of it, the result is 7-bit
    /// with CRLF line ends and lines within 998 octets, and reads as the
    /// same document (references decoded, inserted line breaks taken as the
    /// spaces they replaced).
    #[test]
    fn random_markup_reads_the_same_once_made_ascii() {
        use rand::{RngExt as _, SeedableRng as _};
        let pieces = [
            "<p class=\"a b\">",
            "</p>",
            "<a href='https://x.example/?q=1&amp;r=2' title=\"Zoë > Ana\">",
            "</a>",
            "<img alt=\"café\" src=x>",
            "<br>",
            "<!-- é -- note -->",
            "<style>p{color:red}</style>",
            "<pre>",
            "</pre>",
            "text ",
            "Élodie ",
            "Tomás · ",
            "🎉",
            "\u{2068}",
            "word ",
            "&nbsp;",
            "\n",
            "<td style=\"padding: 0 4px; font: 14px/1.4 sans-serif\">",
            "</td>",
            "x",
        ];
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut made = 0;
        for _ in 0..400 {
            let n = rng.random_range(1..600);
            let doc: String = (0..n)
                .map(|_| pieces[rng.random_range(0..pieces.len())])
                .collect();
            let Some(out) = ascii_html(&doc) else {
                continue;
            };
            made += 1;
            assert!(out.is_ascii() && crlf_only(&out), "{doc:?}");
            assert!(longest_line(&out) <= MAX_LINE, "{doc:?}");
            let out = String::from_utf8(out).unwrap();
            assert_eq!(
                unreference(&out.replace("\r\n", " ")),
                unreference(&doc.replace('\n', " ")),
                "{doc:?}"
            );
        }
        assert!(made > 100, "only {made} documents were made ASCII");
    }

    /// `html_fits` counts the octets of the chosen encoding.
    #[test]
    fn html_fits_counts_the_wire() {
        let html = format!("<p>{}</p>\n", "Доброе утро! ".repeat(300));
        let wire = super::html(&html).body.len();
        assert!(wire > html.len());
        assert!(html_fits(&html, wire));
        assert!(!html_fits(&html, wire - 1));
        assert!(!html_fits(&html, html.len()));
    }
}

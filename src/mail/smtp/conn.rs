//! One connection to the relay at the protocol's lowest level: the stream
//! (TCP, or TLS over it), writes of whole buffers, and the relay's replies
//! read one at a time (multi-line ones included) into [`Reply`]; what EHLO
//! offers, parsed into [`Offers`]. It knows the grammar of replies, not what
//! any command means: [`transaction`](super::transaction) and the session
//! set-up in [`super`] decide that.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// The longest reply accepted (all its lines): RFC 5321 allows 512 octets
/// a line; a relay sending more than this is broken.
const MAX_REPLY: usize = 64 * 1024;

/// A reply of the relay: its code, the RFC 3463 enhanced status code when
/// the first line starts with one, and the text of its lines (the
/// enhanced code removed from the first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub enhanced: Option<String>,
    pub lines: Vec<String>,
}

impl Reply {
    /// 2xx or 3xx.
    pub fn is_positive(&self) -> bool {
        (200..400).contains(&self.code)
    }

    pub fn is_permanent(&self) -> bool {
        (500..600).contains(&self.code)
    }

    /// The text of every line, joined with spaces.
    pub fn text(&self) -> String {
        self.lines.join(" ")
    }
}

impl fmt::Display for Reply {
    /// `550 5.1.1 <a@b>: User unknown`, as a log line or the ledger shows it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(enhanced) = &self.enhanced {
            write!(f, " {enhanced}")?;
        }
        for line in &self.lines {
            if !line.is_empty() {
                write!(f, " {line}")?;
            }
        }
        Ok(())
    }
}

/// What the relay said it offers in its EHLO reply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Offers {
    /// The name the relay gave on the first line.
    pub name: String,
    pub pipelining: bool,
    pub eight_bit_mime: bool,
    pub smtputf8: bool,
    pub starttls: bool,
    /// `SIZE n`: the largest message it takes; `Some(0)` means no fixed
    /// limit (RFC 1870).
    pub size: Option<u64>,
    /// The AUTH mechanisms, upper-cased.
    pub auth: Vec<String>,
}

impl Offers {
    /// The keywords of an EHLO reply (the lines after the first).
    pub fn parse(reply: &Reply) -> Offers {
        let mut offers = Offers {
            name: reply
                .lines
                .first()
                .and_then(|l| l.split_whitespace().next())
                .unwrap_or_default()
                .to_owned(),
            ..Offers::default()
        };
        for line in reply.lines.iter().skip(1) {
            let mut words = line.split_whitespace();
            let Some(keyword) = words.next() else { continue };
            match keyword.to_ascii_uppercase().as_str() {
                "PIPELINING" => offers.pipelining = true,
                "8BITMIME" => offers.eight_bit_mime = true,
                "SMTPUTF8" => offers.smtputf8 = true,
                "STARTTLS" => offers.starttls = true,
                "SIZE" => offers.size = Some(words.next().and_then(|n| n.parse().ok()).unwrap_or(0)),
                "AUTH" => {
                    for mechanism in words {
                        let mechanism = mechanism.to_ascii_uppercase();
                        if !offers.auth.contains(&mechanism) {
                            offers.auth.push(mechanism);
                        }
                    }
                }
                _ => {}
            }
        }
        offers
    }

    pub fn auth(&self, mechanism: &str) -> bool {
        self.auth.iter().any(|m| m == mechanism)
    }
}

/// The byte stream under the protocol.
pub(super) enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// A connection: the stream and the bytes read but not yet parsed.
pub(super) struct Conn {
    stream: Stream,
    buf: Vec<u8>,
    /// Where the unparsed bytes of `buf` start.
    start: usize,
    /// Set when the connection can no longer be trusted (an IO error, a
    /// 421, a transaction cut short): the session opens a new one.
    pub broken: bool,
}

impl Conn {
    pub(super) fn new(stream: Stream) -> Conn {
        Conn {
            stream,
            buf: Vec::with_capacity(4096),
            start: 0,
            broken: false,
        }
    }

    /// The TCP stream, for the STARTTLS handshake. Refused when the relay
    /// sent anything after its 220 to STARTTLS: those bytes would be taken
    /// as coming over TLS (the STARTTLS command injection of CVE-2011-0411).
    pub(super) fn into_tcp(self) -> io::Result<TcpStream> {
        if self.start < self.buf.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the relay sent data after its reply to STARTTLS, before the TLS handshake",
            ));
        }
        match self.stream {
            Stream::Plain(tcp) => Ok(tcp),
            Stream::Tls(_) => Err(io::Error::other("STARTTLS on a connection already under TLS")),
        }
    }

    /// Writes `bytes` in one go and flushes them.
    pub(super) async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        let result = async {
            self.stream.write_all(bytes).await?;
            self.stream.flush().await
        }
        .await;
        if result.is_err() {
            self.broken = true;
        }
        result
    }

    /// One command line (`line` without its CRLF) and its reply.
    pub(super) async fn command(&mut self, line: &str) -> io::Result<Reply> {
        let mut bytes = Vec::with_capacity(line.len() + 2);
        bytes.extend_from_slice(line.as_bytes());
        bytes.extend_from_slice(b"\r\n");
        self.write(&bytes).await?;
        self.reply().await
    }

    /// The next reply, all its lines. A 421 marks the connection broken:
    /// the relay is closing it.
    pub(super) async fn reply(&mut self) -> io::Result<Reply> {
        let result = self.read_reply().await;
        match &result {
            Ok(reply) if reply.code == 421 => self.broken = true,
            Ok(_) => {}
            Err(_) => self.broken = true,
        }
        result
    }

    async fn read_reply(&mut self) -> io::Result<Reply> {
        let mut code = None;
        let mut lines = Vec::new();
        loop {
            let line = self.line().await?;
            let malformed = || {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("malformed reply line {:?}", String::from_utf8_lossy(&line)),
                )
            };
            if line.len() < 3 || !line[..3].iter().all(u8::is_ascii_digit) {
                return Err(malformed());
            }
            let this: u16 = std::str::from_utf8(&line[..3])
                .ok()
                .and_then(|c| c.parse().ok())
                .ok_or_else(malformed)?;
            if *code.get_or_insert(this) != this {
                return Err(malformed());
            }
            let more = match line.get(3) {
                None | Some(b' ') => false,
                Some(b'-') => true,
                Some(_) => return Err(malformed()),
            };
            let text = line.get(4..).unwrap_or_default();
            lines.push(String::from_utf8_lossy(text).into_owned());
            if !more {
                break;
            }
        }
        let code = code.expect("one line was read");
        let enhanced = lines.first().and_then(|first| {
            let word = first.split_whitespace().next()?;
            let class = (code / 100).to_string();
            is_enhanced(word, &class).then(|| word.to_owned())
        });
        if let (Some(e), Some(first)) = (&enhanced, lines.first_mut()) {
            *first = first[e.len()..].trim_start().to_owned();
        }
        Ok(Reply {
            code,
            enhanced,
            lines,
        })
    }

    /// The next line without its CRLF (or bare LF).
    async fn line(&mut self) -> io::Result<Vec<u8>> {
        loop {
            if let Some(at) = self.buf[self.start..].iter().position(|&b| b == b'\n') {
                let end = self.start + at;
                let mut line = &self.buf[self.start..end];
                if let Some(stripped) = line.strip_suffix(b"\r") {
                    line = stripped;
                }
                let line = line.to_vec();
                self.start = end + 1;
                if self.start == self.buf.len() {
                    self.buf.clear();
                    self.start = 0;
                }
                return Ok(line);
            }
            if self.buf.len() - self.start > MAX_REPLY {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("a reply longer than {MAX_REPLY} bytes"),
                ));
            }
            if self.start > 0 {
                self.buf.drain(..self.start);
                self.start = 0;
            }
            if self.buf.capacity() - self.buf.len() < 1024 {
                self.buf.reserve(4096);
            }
            let n = self.stream.read_buf(&mut self.buf).await?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the relay closed the connection",
                ));
            }
        }
    }
}

/// `2.1.5` and the like, whose class matches the reply's code.
fn is_enhanced(word: &str, class: &str) -> bool {
    let mut parts = word.split('.');
    parts.next() == Some(class) && {
        let rest: Vec<&str> = parts.collect();
        rest.len() == 2
            && rest
                .iter()
                .all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
    }
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(code: u16, lines: &[&str]) -> Reply {
        Reply {
            code,
            enhanced: None,
            lines: lines.iter().map(|l| (*l).to_owned()).collect(),
        }
    }

    #[test]
    fn reads_what_ehlo_offers() {
        let offers = Offers::parse(&reply(
            250,
            &[
                "mx.example.com Hello",
                "PIPELINING",
                "SIZE 10240000",
                "8bitmime",
                "AUTH PLAIN LOGIN",
                "AUTH=LOGIN",
                "STARTTLS",
                "SMTPUTF8",
                "ENHANCEDSTATUSCODES",
            ],
        ));
        assert_eq!(
            offers,
            Offers {
                name: "mx.example.com".into(),
                pipelining: true,
                eight_bit_mime: true,
                smtputf8: true,
                starttls: true,
                size: Some(10_240_000),
                auth: vec!["PLAIN".into(), "LOGIN".into()],
            }
        );
        let bare = Offers::parse(&reply(250, &["sink.test"]));
        assert!(!bare.pipelining && !bare.eight_bit_mime && bare.size.is_none() && bare.auth.is_empty());
    }

    #[test]
    fn enhanced_codes_match_the_reply_class() {
        assert!(is_enhanced("5.1.1", "5"));
        assert!(is_enhanced("2.0.0", "2"));
        assert!(!is_enhanced("4.1.1", "5"));
        assert!(!is_enhanced("5.1", "5"));
        assert!(!is_enhanced("mx.example.com", "2"));
    }
}

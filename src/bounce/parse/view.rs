//! What mail-parser makes of a message, as the report parser needs it: the
//! machine-readable report parts (delivery status, feedback report,
//! disposition notification), the originals the report quotes (a
//! `message/rfc822` part, `text/rfc822-headers`, RFC 6533's
//! `message/global` and `message/global-headers`, or headers inlined in
//! the text), and the human text (text/plain, else HTML stripped of tags).

use mail_parser::{Message, MessageParser, MessagePart, MimeHeaders, PartType};

use super::address;

/// Longest human text read, in bytes: bounces put what matters first.
const MAX_TEXT: usize = 64 * 1024;

pub(super) struct View {
    /// The `message/delivery-status` part(s), decoded.
    pub delivery_status: Option<String>,
    /// The `message/feedback-report` part, decoded.
    pub feedback: Option<String>,
    /// A read receipt: a disposition-notification part or report type.
    pub disposition: bool,
    pub originals: Vec<Original>,
    /// The human-readable text, line ends normalized to `\n`.
    pub text: String,
}

/// What a report quotes of the original message.
#[derive(Debug, Default)]
pub(super) struct Original {
    pub message_id: Option<String>,
    pub return_path: Option<String>,
    /// Whom it was addressed to: the JMRP recipient header, then To.
    pub recipients: Vec<String>,
}

impl View {
    pub fn of(message: &Message) -> View {
        let mut view = View {
            delivery_status: None,
            feedback: None,
            disposition: report_type(message)
                .is_some_and(|t| t.eq_ignore_ascii_case("disposition-notification")),
            originals: Vec::new(),
            text: String::new(),
        };
        let mut plain = String::new();
        let mut attached = String::new();
        let mut html = String::new();
        for part in &message.parts {
            if let PartType::Message(inner) = &part.body {
                view.originals.push(Original::of(inner));
                continue;
            }
            let (ctype, subtype) = content_type(part);
            match (ctype.as_str(), subtype.as_str()) {
                (_, "delivery-status" | "global-delivery-status") => {
                    let s = view.delivery_status.get_or_insert_with(String::new);
                    s.push_str(&String::from_utf8_lossy(fields_of(message, part)));
                    s.push_str("\n\n");
                }
                (_, "feedback-report") if view.feedback.is_none() => {
                    view.feedback = Some(String::from_utf8_lossy(part.contents()).into_owned());
                }
                (_, "disposition-notification" | "global-disposition-notification") => {
                    view.disposition = true
                }
                (_, "rfc822-headers" | "global-headers") | ("message", "rfc822" | "global") => {
                    view.originals.extend(Original::of_headers(part.contents()));
                }
                ("text", "plain") | ("", _) => {
                    if let PartType::Text(text) = &part.body {
                        let into = if is_attachment(part) {
                            &mut attached
                        } else {
                            &mut plain
                        };
                        push_bounded(into, text);
                    }
                }
                ("text", "html") => {
                    if let PartType::Html(text) | PartType::Text(text) = &part.body {
                        push_bounded(&mut html, text);
                    }
                }
                _ => {}
            }
        }
        let text = if !plain.is_empty() {
            plain
        } else if !html.is_empty() {
            strip_html(&html)
        } else {
            attached
        };
        view.text = if text.contains('\r') {
            text.replace("\r\n", "\n")
        } else {
            text
        };
        if view.originals.is_empty()
            && let Some(inline) = Original::of_text(&view.text)
        {
            view.originals.push(inline);
        }
        view
    }
}

impl Original {
    fn of(m: &Message) -> Original {
        let mut recipients = Vec::new();
        let mut return_path = None;
        for (name, value) in m.headers_raw() {
            if name.eq_ignore_ascii_case("Return-Path") && return_path.is_none() {
                return_path = address::normalize(value);
            } else if name.eq_ignore_ascii_case("X-HmXmrOriginalRecipient") {
                recipients.extend(address::normalize(value));
            }
        }
        if let Some(to) = m.to() {
            recipients.extend(
                to.iter()
                    .filter_map(|a| a.address())
                    .filter_map(address::normalize),
            );
        }
        Original {
            message_id: m.message_id().and_then(address::message_id),
            return_path,
            recipients,
        }
    }

    fn of_headers(bytes: &[u8]) -> Option<Original> {
        let m = MessageParser::new().parse_headers(bytes)?;
        let o = Original::of(&m);
        (o.message_id.is_some() || o.return_path.is_some() || !o.recipients.is_empty()).then_some(o)
    }

    /// The original's headers copied into the text of a bounce that has no
    /// MIME structure (qmail, Exim, Sendmail, a forwarded NDR): the first
    /// Message-ID and Return-Path lines.
    fn of_text(text: &str) -> Option<Original> {
        let mut o = Original::default();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            let line = line.trim_start();
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let is_id = name.eq_ignore_ascii_case("Message-ID");
            let is_path = name.eq_ignore_ascii_case("Return-Path");
            if !is_id && !is_path {
                continue;
            }
            // A folded value starts on the next line.
            let owned;
            let value = if value.trim().is_empty() {
                owned = lines.next().unwrap_or("").to_owned();
                owned.as_str()
            } else {
                value
            };
            if is_id && o.message_id.is_none() {
                o.message_id = address::message_id(value).filter(|id| id.contains('@'));
            } else if is_path && o.return_path.is_none() {
                o.return_path = address::normalize(value);
            }
            if o.message_id.is_some() && o.return_path.is_some() {
                break;
            }
        }
        (o.message_id.is_some() || o.return_path.is_some()).then_some(o)
    }
}

/// A machine-readable part's fields. Some MTAs leave out the blank line
/// between the part's MIME headers and its fields, so that MIME reads the
/// fields as headers and the body as empty: then the part's raw text,
/// headers included, is read instead (the field reader skips
/// Content-Type and the like as fields it does not know).
fn fields_of<'a>(message: &'a Message, part: &'a MessagePart) -> &'a [u8] {
    let body = part.contents();
    if !body.iter().all(u8::is_ascii_whitespace) {
        return body;
    }
    let (start, end) = (part.raw_header_offset() as usize, part.raw_end_offset() as usize);
    message.raw_message.get(start..end).unwrap_or(body)
}

fn report_type<'a>(message: &'a Message) -> Option<&'a str> {
    let ct = message.content_type()?;
    ct.subtype()
        .is_some_and(|s| s.eq_ignore_ascii_case("report"))
        .then(|| ct.attribute("report-type"))
        .flatten()
}

/// A part's type and subtype, lower-cased; empty when it has none.
fn content_type(part: &MessagePart) -> (String, String) {
    part.content_type().map_or((String::new(), String::new()), |ct| {
        (
            ct.ctype().to_ascii_lowercase(),
            ct.subtype().unwrap_or("").to_ascii_lowercase(),
        )
    })
}

fn is_attachment(part: &MessagePart) -> bool {
    part.content_disposition()
        .is_some_and(|d| d.ctype().eq_ignore_ascii_case("attachment"))
}

fn push_bounded(into: &mut String, text: &str) {
    let room = MAX_TEXT.saturating_sub(into.len());
    if room == 0 {
        return;
    }
    let mut end = text.len().min(room);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    if !into.is_empty() {
        into.push('\n');
    }
    into.push_str(&text[..end]);
}

/// HTML as text, for the bounces that have no text/plain part (some
/// Exchange and Office 365 NDRs): tags dropped, block ends as line breaks,
/// style and script left out, entities decoded.
fn strip_html(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find('>') else {
            rest = "";
            break;
        };
        let tag = after[..end].trim_start_matches('/').to_ascii_lowercase();
        let name = tag
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or("");
        rest = &after[end + 1..];
        match name {
            "style" | "script" | "head" if !after.starts_with('/') => {
                let close = format!("</{name}");
                let lower = rest.to_ascii_lowercase();
                rest = lower.find(&close).map_or("", |i| &rest[i..]);
            }
            "br" | "p" | "div" | "tr" | "li" | "h1" | "h2" | "h3" | "h4" | "table" | "pre" => out.push('\n'),
            "td" | "th" => out.push(' '),
            _ => {}
        }
    }
    out.push_str(rest);
    html_escape::decode_html_entities(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_becomes_text() {
        let t = strip_html(
            "<html><head><style>p{}</style></head><body><p>Delivery&nbsp;has failed<br>x@y.example</p><script>1<2</script></body></html>",
        );
        assert!(t.contains("Delivery\u{a0}has failed\nx@y.example"), "{t:?}");
        assert!(!t.contains("p{}") && !t.contains("1<2"), "{t:?}");
        assert_eq!(strip_html("a <b"), "a ");
    }

    #[test]
    fn inlined_headers() {
        let o =
            Original::of_text("copy:\n\nReturn-Path: <Bounces+1@X.example>\nMessage-ID:\n <abc@x.example>\n")
                .unwrap();
        assert_eq!(o.return_path.as_deref(), Some("bounces+1@x.example"));
        assert_eq!(o.message_id.as_deref(), Some("abc@x.example"));
        assert!(Original::of_text("nothing here").is_none());
    }
}

//! The message's DATA form, pure: CRLF line ends, dot-stuffing (RFC 5321
//! 4.5.2: a line that starts with `.` gets a second one) and the
//! terminating `CRLF.CRLF`, and the way back to the plain message. Done once
//! per message when it is composed, so the session writes the bytes as
//! they are.

/// The DATA form of `message`, and whether a final CRLF had to be added
/// before the terminating dot. A bare LF becomes CRLF (a bare CR is left
/// alone: it is not a line end to the relay either).
pub(in crate::mail) fn stuff(message: &[u8]) -> (Vec<u8>, bool) {
    let mut wire = Vec::with_capacity(message.len() + message.len() / 512 + 8);
    if message.first() == Some(&b'.') {
        wire.push(b'.');
    }
    // Copied in runs between the places that change: a bare LF, and a line
    // that starts with a dot (memchr finds the LFs; most lines need nothing).
    let mut copied = 0;
    for lf in memchr::memchr_iter(b'\n', message) {
        if lf == 0 || message[lf - 1] != b'\r' {
            wire.extend_from_slice(&message[copied..lf]);
            wire.extend_from_slice(b"\r\n");
            copied = lf + 1;
        }
        if message.get(lf + 1) == Some(&b'.') {
            wire.extend_from_slice(&message[copied..=lf]);
            wire.push(b'.');
            copied = lf + 1;
        }
    }
    wire.extend_from_slice(&message[copied..]);
    let added_crlf = !wire.is_empty() && !wire.ends_with(b"\r\n");
    if added_crlf {
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b".\r\n");
    (wire, added_crlf)
}

/// The message back from its DATA form: the terminator dropped (and the
/// CRLF [`stuff`] added before it), each line's stuffed dot removed.
pub(in crate::mail) fn unstuff(wire: &[u8], added_crlf: bool) -> Vec<u8> {
    let body = wire.strip_suffix(b".\r\n").unwrap_or(wire);
    let body = if added_crlf {
        body.strip_suffix(b"\r\n").unwrap_or(body)
    } else {
        body
    };
    let mut plain = Vec::with_capacity(body.len());
    for line in body.split_inclusive(|&b| b == b'\n') {
        plain.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
    }
    plain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stuffs_leading_dots_and_terminates() {
        let cases: [(&[u8], &[u8]); 8] = [
            (b"\n.x", b"\r\n..x\r\n.\r\n"),
            (b"a\r\n\r\n..\n.\r", b"a\r\n\r\n...\r\n..\r\r\n.\r\n"),
            (b"a\r\n.b\r\n..c\r\n", b"a\r\n..b\r\n...c\r\n.\r\n"),
            (b".\r\n", b"..\r\n.\r\n"),
            (b"no final line end", b"no final line end\r\n.\r\n"),
            (b"bare\nlf\n.x\n", b"bare\r\nlf\r\n..x\r\n.\r\n"),
            (b"mid.dot\r\n x.\r\n", b"mid.dot\r\n x.\r\n.\r\n"),
            (b"", b".\r\n"),
        ];
        for (plain, expected) in cases {
            let (wire, _) = stuff(plain);
            assert_eq!(
                String::from_utf8_lossy(&wire),
                String::from_utf8_lossy(expected),
                "{:?}",
                String::from_utf8_lossy(plain)
            );
        }
    }

    #[test]
    fn unstuffing_gives_back_the_crlf_message() {
        let messages: [&[u8]; 5] = [
            b"Subject: x\r\n\r\n.hidden\r\n..two\r\nend\r\n",
            b"ends without a line end\r\n.",
            b".",
            b"caf\xc3\xa9\r\n",
            b"",
        ];
        for plain in messages {
            let (wire, added) = stuff(plain);
            assert_eq!(
                unstuff(&wire, added),
                plain,
                "{:?}",
                String::from_utf8_lossy(plain)
            );
        }
    }
}

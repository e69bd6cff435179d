use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::Invalid;

/// A subscriber's secret token for the links in their digests (unsubscribe,
/// preferences, confirm): 192 random bits from the thread-local CSPRNG,
/// base64url without padding (32 characters). `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    const BYTES: usize = 24;
    pub const LEN: usize = 32;

    pub fn generate() -> Self {
        let mut bytes = [0u8; Self::BYTES];
        rand::fill(&mut bytes[..]);
        Token(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Parses a token that came back from outside (a URL path); only the
    /// shape is checked, the store decides whether it exists.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let ok = raw.len() == Self::LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Token(raw.to_owned()))
        } else {
            Err(Invalid::new("is not a valid token"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(..)")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_parse_back() {
        let a = Token::generate();
        let b = Token::generate();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), Token::LEN);
        assert_eq!(Token::parse(a.as_str()).unwrap(), a);
        assert!(Token::parse("short").is_err());
        assert!(format!("{a:?}").contains(".."));
    }
}

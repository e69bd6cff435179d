//! The DKIM private key, read and parsed at load so that a key the signer
//! cannot use is a configuration error naming `mail.dkim.key_file`, not a
//! failure at send time. Accepted: RSA as PKCS#1 ("BEGIN RSA PRIVATE KEY")
//! or PKCS#8 ("BEGIN PRIVATE KEY"), and Ed25519 as PKCS#8 (either the
//! 48-byte form `openssl genpkey` writes or the form with the public key
//! appended). The result, [`DkimKey`], holds the secret in the one form the
//! mail module hands to lettre without further parsing (PKCS#1 PEM for
//! RSA, the base64 seed for Ed25519) inside a `SecretString`; no lettre
//! here, and the key is never printed.

use std::fmt;

use base64::Engine;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey, LineEnding};
use rsa::pkcs8::der::Decode;
use rsa::pkcs8::der::asn1::OctetStringRef;
use rsa::pkcs8::{DecodePrivateKey, ObjectIdentifier, PrivateKeyInfo, SecretDocument};
use rsa::traits::PublicKeyParts;
use secrecy::{ExposeSecret, SecretString};

/// rsaEncryption (RFC 8017).
const RSA_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// id-Ed25519 (RFC 8410).
const ED25519_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
/// RFC 8301: verifiers must not accept signatures made with smaller keys.
const MIN_RSA_BITS: usize = 1024;

/// The signing algorithm a key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DkimAlgorithm {
    Rsa,
    Ed25519,
}

/// The container the key came in, for `herald config check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFormat {
    Pkcs1,
    Pkcs8,
}

/// A parsed DKIM private key.
#[derive(Clone)]
pub struct DkimKey {
    algorithm: DkimAlgorithm,
    format: KeyFormat,
    /// The modulus size of an RSA key.
    bits: Option<usize>,
    /// PKCS#1 PEM for RSA, the base64 32-byte seed for Ed25519.
    signer_input: SecretString,
}

impl DkimKey {
    /// Parses the text of a key file. The reason, on failure, never quotes
    /// the key.
    pub fn parse(text: &str) -> Result<DkimKey, String> {
        let block = pem_block(text).ok_or("is not a PEM private key")?;
        // The label decides the format; an unsupported one is named before
        // its contents are decoded.
        let label = block["-----BEGIN ".len()..].split("-----").next().unwrap_or("");
        match label {
            "RSA PRIVATE KEY" | "PRIVATE KEY" => {}
            "ENCRYPTED PRIVATE KEY" => {
                return Err(
                    "is encrypted; Herald needs an unencrypted key (openssl pkey -in key.pem -out plain.pem)"
                        .into(),
                );
            }
            other => {
                return Err(format!(
                    "holds a {other:?} PEM block; expected BEGIN RSA PRIVATE KEY (RSA, PKCS#1) or BEGIN PRIVATE KEY (RSA or Ed25519, PKCS#8)"
                ));
            }
        }
        let (_, der) =
            SecretDocument::from_pem(block).map_err(|e| format!("is not a readable PEM block ({e})"))?;
        if label == "PRIVATE KEY" {
            return DkimKey::pkcs8(der.as_bytes());
        }
        let key = rsa::RsaPrivateKey::from_pkcs1_der(der.as_bytes())
            .map_err(|e| format!("is not a valid PKCS#1 RSA key ({e})"))?;
        DkimKey::rsa(&key, KeyFormat::Pkcs1)
    }

    pub fn algorithm(&self) -> DkimAlgorithm {
        self.algorithm
    }

    pub fn format(&self) -> KeyFormat {
        self.format
    }

    /// The secret in the form lettre's `DkimSigningKey::new` takes for
    /// [`algorithm`](Self::algorithm): PKCS#1 PEM for RSA, the base64 seed
    /// for Ed25519. For the mail module only.
    pub fn signer_input(&self) -> &str {
        self.signer_input.expose_secret()
    }

    fn pkcs8(der: &[u8]) -> Result<DkimKey, String> {
        let info = PrivateKeyInfo::from_der(der).map_err(|e| format!("is not a valid PKCS#8 key ({e})"))?;
        let oid = info.algorithm.oid;
        if oid == RSA_OID {
            let key = rsa::RsaPrivateKey::from_pkcs8_der(der)
                .map_err(|e| format!("is not a valid PKCS#8 RSA key ({e})"))?;
            return DkimKey::rsa(&key, KeyFormat::Pkcs8);
        }
        if oid != ED25519_OID {
            return Err(format!(
                "is a PKCS#8 key of algorithm {oid}; DKIM signs with RSA (1.2.840.113549.1.1.1) or Ed25519 (1.3.101.112)"
            ));
        }
        // RFC 8410: the private key is an OCTET STRING holding the 32-byte
        // seed, itself wrapped in the PKCS#8 OCTET STRING.
        let seed = OctetStringRef::from_der(info.private_key)
            .ok()
            .map(|s| s.as_bytes())
            .filter(|s| s.len() == 32)
            .ok_or("is not a valid PKCS#8 Ed25519 key (expected a 32-byte private key)")?;
        Ok(DkimKey {
            algorithm: DkimAlgorithm::Ed25519,
            format: KeyFormat::Pkcs8,
            bits: None,
            signer_input: SecretString::from(base64::engine::general_purpose::STANDARD.encode(seed)),
        })
    }

    fn rsa(key: &rsa::RsaPrivateKey, format: KeyFormat) -> Result<DkimKey, String> {
        let bits = key.size() * 8;
        if bits < MIN_RSA_BITS {
            return Err(format!(
                "is a {bits}-bit RSA key; DKIM needs at least {MIN_RSA_BITS} bits (RFC 8301), 2048 recommended"
            ));
        }
        let pem = key
            .to_pkcs1_pem(LineEnding::LF)
            .map_err(|e| format!("cannot be re-encoded as PKCS#1 ({e})"))?;
        Ok(DkimKey {
            algorithm: DkimAlgorithm::Rsa,
            format,
            bits: Some(bits),
            signer_input: SecretString::from(pem.as_str()),
        })
    }
}

/// The first PEM block of `text`: a file may carry text before it (openssl
/// writes "Bag Attributes" into some) or a second block after it.
fn pem_block(text: &str) -> Option<&str> {
    let start = text.find("-----BEGIN ")?;
    let rest = &text[start..];
    let end_marker = rest.find("-----END ")?;
    let close = rest[end_marker + 9..].find("-----")?;
    Some(&rest[..end_marker + 9 + close + 5])
}

/// What `herald config check` says about the key, e.g. "RSA 2048-bit
/// (PKCS#8)" or "Ed25519 (PKCS#8)".
impl fmt::Display for DkimKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let format = match self.format {
            KeyFormat::Pkcs1 => "PKCS#1",
            KeyFormat::Pkcs8 => "PKCS#8",
        };
        match (self.algorithm, self.bits) {
            (DkimAlgorithm::Rsa, Some(bits)) => write!(f, "RSA {bits}-bit ({format})"),
            (DkimAlgorithm::Rsa, None) => write!(f, "RSA ({format})"),
            (DkimAlgorithm::Ed25519, _) => write!(f, "Ed25519 ({format})"),
        }
    }
}

impl fmt::Debug for DkimKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DkimKey({self}, [redacted])")
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::pkcs8::{EncodePrivateKey as _, KeypairBytes};
    use rsa::pkcs8::EncodePrivateKey as _;

    use super::*;

    fn rsa_key(bits: usize) -> rsa::RsaPrivateKey {
        rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, bits).expect("RSA keygen")
    }

    #[test]
    fn rsa_pkcs1_and_pkcs8_give_the_same_pkcs1_pem() {
        let key = rsa_key(1024);
        let pkcs1 = key.to_pkcs1_pem(LineEnding::LF).unwrap();
        let pkcs8 = key.to_pkcs8_pem(LineEnding::LF).unwrap();
        let from1 = DkimKey::parse(&pkcs1).unwrap();
        let from8 =
            DkimKey::parse(&format!("Bag Attributes\n    localKeyID: 01\n{}", pkcs8.as_str())).unwrap();
        assert_eq!(from1.to_string(), "RSA 1024-bit (PKCS#1)");
        assert_eq!(from8.to_string(), "RSA 1024-bit (PKCS#8)");
        assert_eq!(from8.algorithm(), DkimAlgorithm::Rsa);
        assert_eq!(from1.signer_input(), pkcs1.as_str());
        assert_eq!(from8.signer_input(), pkcs1.as_str());
        let printed = format!("{from8:?} {from8}");
        assert!(!printed.contains("PRIVATE"), "{printed}");
    }

    #[test]
    fn ed25519_pkcs8_with_and_without_the_public_key() {
        let seed: [u8; 32] = rand::random();
        let signing = ed25519_dalek::SigningKey::from_bytes(&seed);
        let expected = base64::engine::general_purpose::STANDARD.encode(seed);
        let v1 = KeypairBytes {
            secret_key: seed,
            public_key: None,
        };
        let v2 = KeypairBytes {
            secret_key: seed,
            public_key: Some(ed25519_dalek::pkcs8::PublicKeyBytes(
                signing.verifying_key().to_bytes(),
            )),
        };
        for pair in [v1, v2] {
            let pem = pair.to_pkcs8_pem(LineEnding::LF).unwrap();
            let key = DkimKey::parse(&pem).unwrap();
            assert_eq!(key.to_string(), "Ed25519 (PKCS#8)");
            assert_eq!(key.algorithm(), DkimAlgorithm::Ed25519);
            assert_eq!(key.signer_input(), expected);
        }
    }

    #[test]
    fn bad_keys_say_why() {
        let small = rsa_key(512).to_pkcs8_pem(LineEnding::LF).unwrap();
        let mangled = rsa_key(1024)
            .to_pkcs1_pem(LineEnding::LF)
            .unwrap()
            .replacen("MII", "MIX", 1);
        let cases = [
            ("hello".to_owned(), "is not a PEM private key"),
            (
                small.to_string(),
                "is a 512-bit RSA key; DKIM needs at least 1024 bits",
            ),
            (mangled, "is not"),
            (
                "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n".to_owned(),
                "holds a \"EC PRIVATE KEY\" PEM block",
            ),
            (
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"
                    .to_owned(),
                "is encrypted",
            ),
            (
                "-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n".to_owned(),
                "is not a readable PEM block",
            ),
        ];
        for (text, expected) in cases {
            let e = DkimKey::parse(&text).expect_err(expected);
            assert!(e.contains(expected), "{expected}: {e}");
        }
    }

    #[test]
    fn pkcs8_of_another_algorithm_is_named() {
        // An X25519 key (OID 1.3.101.110) has the Ed25519 layout but cannot
        // sign.
        let pem = KeypairBytes {
            secret_key: [7; 32],
            public_key: None,
        }
        .to_pkcs8_pem(LineEnding::LF)
        .unwrap()
        .to_string();
        let der = SecretDocument::from_pem(&pem).unwrap().1;
        let mut bytes = der.as_bytes().to_vec();
        let at = bytes
            .windows(5)
            .position(|w| w == [0x06, 0x03, 0x2b, 0x65, 0x70])
            .unwrap();
        bytes[at + 4] = 0x6e;
        let e = DkimKey::pkcs8(&bytes).unwrap_err();
        assert!(e.contains("algorithm 1.3.101.110"), "{e}");
    }
}

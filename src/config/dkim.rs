//! The DKIM private key, read and parsed at load by aws-lc-rs (the library
//! that signs with it), so that a key the signer cannot use is a
//! configuration error naming `mail.dkim.key_file`, not a failure at send
//! time. Accepted:
//! RSA of 2048 to 4096 bits as PKCS#1 ("BEGIN RSA PRIVATE KEY") or PKCS#8
//! ("BEGIN PRIVATE KEY"), and Ed25519 as PKCS#8 (either the 48-byte v1 form
//! `openssl genpkey` writes or the v2 form with the public key appended).
//! The result, [`DkimKey`], holds aws-lc-rs's key pair, ready to sign, behind
//! an `Arc`; the PEM text and its DER are zeroized once read. The pkcs8 and
//! pkcs1 crates' DER types read the container, the algorithm and the modulus
//! size for the messages (a parse, no arithmetic). No signing here (that is
//! `crate::mail`), and the key is never printed.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _, RsaKeyPair};
use pkcs8::der::Decode;
use pkcs8::der::asn1::OctetStringRef;
use pkcs8::{ObjectIdentifier, PrivateKeyInfo, SecretDocument};

/// rsaEncryption (RFC 8017).
const RSA_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// id-Ed25519 (RFC 8410).
const ED25519_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
/// RFC 8301: verifiers must not accept signatures made with smaller keys.
const MIN_RSA_BITS: usize = 1024;
/// What Herald signs with: at least 2048 bits (RFC 8301's recommendation;
/// aws-lc-rs signs with nothing smaller) and at most 4096 (the largest RFC
/// 8301 requires verifiers to accept).
const SIGNING_RSA_BITS: std::ops::RangeInclusive<usize> = 2048..=4096;

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

/// aws-lc-rs's key pair for one DKIM key. Its `Debug` (aws-lc-rs's) shows
/// the public key only.
#[derive(Debug)]
pub enum DkimKeyPair {
    Rsa(RsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

impl DkimKeyPair {
    /// The public key in the form of the DNS record's `p=` before base64:
    /// the PKCS#1 RSAPublicKey DER for RSA (which RFC 6376 verifiers accept
    /// beside SPKI), the raw 32 bytes for Ed25519 (RFC 8463).
    pub fn public_key(&self) -> &[u8] {
        match self {
            DkimKeyPair::Rsa(k) => k.public_key().as_ref(),
            DkimKeyPair::Ed25519(k) => k.public_key().as_ref(),
        }
    }
}

/// A parsed DKIM private key.
#[derive(Clone)]
pub struct DkimKey {
    format: KeyFormat,
    /// The modulus size of an RSA key.
    bits: Option<usize>,
    pair: Arc<DkimKeyPair>,
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
        DkimKey::rsa(der.as_bytes(), der.as_bytes(), KeyFormat::Pkcs1)
    }

    pub fn algorithm(&self) -> DkimAlgorithm {
        match *self.pair {
            DkimKeyPair::Rsa(_) => DkimAlgorithm::Rsa,
            DkimKeyPair::Ed25519(_) => DkimAlgorithm::Ed25519,
        }
    }

    pub fn format(&self) -> KeyFormat {
        self.format
    }

    /// aws-lc-rs's key pair, for the mail module's signer.
    pub fn key_pair(&self) -> &DkimKeyPair {
        &self.pair
    }

    fn pkcs8(der: &[u8]) -> Result<DkimKey, String> {
        let info = PrivateKeyInfo::from_der(der).map_err(|e| format!("is not a valid PKCS#8 key ({e})"))?;
        let oid = info.algorithm.oid;
        if oid == RSA_OID {
            // The PKCS#8 private key of rsaEncryption is the PKCS#1 key.
            return DkimKey::rsa(der, info.private_key, KeyFormat::Pkcs8);
        }
        if oid != ED25519_OID {
            return Err(format!(
                "is a PKCS#8 key of algorithm {oid}; DKIM signs with RSA (1.2.840.113549.1.1.1) or Ed25519 (1.3.101.112)"
            ));
        }
        // RFC 8410: the private key is an OCTET STRING holding the 32-byte
        // seed, itself wrapped in the PKCS#8 OCTET STRING.
        OctetStringRef::from_der(info.private_key)
            .ok()
            .filter(|s| s.as_bytes().len() == 32)
            .ok_or("is not a valid PKCS#8 Ed25519 key (expected a 32-byte private key)")?;
        // v1 documents carry no public key (aws-lc-rs derives it); a v2
        // document's is checked against the seed.
        let pair = Ed25519KeyPair::from_pkcs8(der)
            .map_err(|e| format!("is not an Ed25519 key Herald can sign with ({e})"))?;
        Ok(DkimKey {
            format: KeyFormat::Pkcs8,
            bits: None,
            pair: Arc::new(DkimKeyPair::Ed25519(pair)),
        })
    }

    /// An RSA key: `document` is what aws-lc-rs reads for `format`, `pkcs1` the
    /// PKCS#1 structure inside it, read here for the modulus size only.
    fn rsa(document: &[u8], pkcs1: &[u8], format: KeyFormat) -> Result<DkimKey, String> {
        let container = match format {
            KeyFormat::Pkcs1 => "PKCS#1",
            KeyFormat::Pkcs8 => "PKCS#8",
        };
        let modulus = pkcs1::RsaPrivateKey::from_der(pkcs1)
            .map_err(|e| format!("is not a valid {container} RSA key ({e})"))?
            .modulus
            .as_bytes();
        let bits = match modulus.first() {
            Some(&top) => modulus.len() * 8 - top.leading_zeros() as usize,
            None => 0,
        };
        if bits < MIN_RSA_BITS {
            return Err(format!(
                "is a {bits}-bit RSA key; DKIM needs at least {MIN_RSA_BITS} bits (RFC 8301), 2048 recommended"
            ));
        }
        if !SIGNING_RSA_BITS.contains(&bits) {
            return Err(format!(
                "is a {bits}-bit RSA key; Herald signs with {} to {} bits, 2048 recommended (openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:2048)",
                SIGNING_RSA_BITS.start(),
                SIGNING_RSA_BITS.end()
            ));
        }
        let pair = match format {
            KeyFormat::Pkcs1 => RsaKeyPair::from_der(document),
            KeyFormat::Pkcs8 => RsaKeyPair::from_pkcs8(document),
        }
        .map_err(|e| format!("is not an RSA key Herald can sign with ({e})"))?;
        Ok(DkimKey {
            format,
            bits: Some(bits),
            pair: Arc::new(DkimKeyPair::Rsa(pair)),
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
        match (self.algorithm(), self.bits) {
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
    use rsa::pkcs1::{EncodeRsaPrivateKey as _, EncodeRsaPublicKey as _, LineEnding};
    use rsa::pkcs8::EncodePrivateKey as _;

    use super::*;

    fn rsa_key(bits: usize) -> rsa::RsaPrivateKey {
        rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, bits).expect("RSA keygen")
    }

    #[test]
    fn rsa_pkcs1_and_pkcs8_give_the_same_key_pair() {
        let key = rsa_key(2048);
        let public = key.to_public_key().to_pkcs1_der().unwrap();
        let pkcs1 = key.to_pkcs1_pem(LineEnding::LF).unwrap();
        let pkcs8 = key.to_pkcs8_pem(LineEnding::LF).unwrap();
        let from1 = DkimKey::parse(&pkcs1).unwrap();
        let from8 =
            DkimKey::parse(&format!("Bag Attributes\n    localKeyID: 01\n{}", pkcs8.as_str())).unwrap();
        assert_eq!(from1.to_string(), "RSA 2048-bit (PKCS#1)");
        assert_eq!(from8.to_string(), "RSA 2048-bit (PKCS#8)");
        assert_eq!(from8.algorithm(), DkimAlgorithm::Rsa);
        assert_eq!(from1.key_pair().public_key(), public.as_bytes());
        assert_eq!(from8.key_pair().public_key(), public.as_bytes());
        let printed = format!("{from8:?} {from8}");
        assert!(!printed.contains("PRIVATE"), "{printed}");
    }

    #[test]
    fn ed25519_pkcs8_with_and_without_the_public_key() {
        let seed: [u8; 32] = rand::random();
        let signing = ed25519_dalek::SigningKey::from_bytes(&seed);
        let public = signing.verifying_key().to_bytes();
        let v1 = KeypairBytes {
            secret_key: seed,
            public_key: None,
        };
        let v2 = KeypairBytes {
            secret_key: seed,
            public_key: Some(ed25519_dalek::pkcs8::PublicKeyBytes(public)),
        };
        for pair in [v1, v2] {
            let pem = pair.to_pkcs8_pem(LineEnding::LF).unwrap();
            let key = DkimKey::parse(&pem).unwrap();
            assert_eq!(key.to_string(), "Ed25519 (PKCS#8)");
            assert_eq!(key.algorithm(), DkimAlgorithm::Ed25519);
            assert_eq!(key.key_pair().public_key(), public);
        }
    }

    #[test]
    fn bad_keys_say_why() {
        let small = rsa_key(512).to_pkcs8_pem(LineEnding::LF).unwrap();
        let too_short_to_sign = rsa_key(1024).to_pkcs1_pem(LineEnding::LF).unwrap();
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
            (
                too_short_to_sign.to_string(),
                "is a 1024-bit RSA key; Herald signs with 2048 to 4096 bits",
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

    /// A key whose structure parses but whose numbers are not a key pair
    /// (here: one prime of another key) is refused by aws-lc-rs at load.
    #[test]
    fn the_signer_checks_the_numbers() {
        use rsa::pkcs1::der::{Encode as _, EncodePem as _};
        let a = rsa_key(2048).to_pkcs1_der().unwrap();
        let b = rsa_key(2048).to_pkcs1_der().unwrap();
        let mut mixed = rsa::pkcs1::RsaPrivateKey::from_der(a.as_bytes()).unwrap();
        mixed.prime1 = rsa::pkcs1::RsaPrivateKey::from_der(b.as_bytes()).unwrap().prime1;
        assert!(mixed.to_der().is_ok());
        let pem = mixed.to_pem(LineEnding::LF).unwrap();
        let e = DkimKey::parse(&pem).expect_err("a mismatched key pair");
        assert!(e.contains("is not an RSA key Herald can sign with"), "{e}");
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

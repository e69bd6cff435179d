//! Certificates made in the test with rcgen: a private CA and a server
//! certificate it signs for 127.0.0.1 and localhost, with Ed25519 keys
//! (ed25519-dalek signs for rcgen, so no crypto backend is built for it;
//! rustls's ring provider serves them). The CA's PEM is what a site would
//! name in `mail.smtp_ca_file`; it is in no trust store.

use std::sync::Arc;

use ed25519_dalek::pkcs8::EncodePrivateKey as _;
use ed25519_dalek::{Signer as _, SigningKey};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// rcgen's view of an Ed25519 key.
struct Ed25519 {
    key: SigningKey,
    public: Vec<u8>,
}

impl Ed25519 {
    fn random() -> Ed25519 {
        let key = SigningKey::from_bytes(&rand::random());
        Ed25519 {
            public: key.verifying_key().to_bytes().to_vec(),
            key,
        }
    }
}

impl rcgen::PublicKeyData for Ed25519 {
    fn der_bytes(&self) -> &[u8] {
        &self.public
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ED25519
    }
}

impl rcgen::SigningKey for Ed25519 {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        Ok(self.key.sign(msg).to_bytes().to_vec())
    }
}

/// A CA and the server certificate it signed.
pub struct TestCa {
    /// The CA certificate, PEM.
    pub ca_pem: String,
    /// The server's rustls configuration: its certificate chain and key.
    pub server: Arc<rustls::ServerConfig>,
}

impl TestCa {
    /// A fresh CA named `name` and a certificate for 127.0.0.1 and
    /// localhost signed by it.
    pub fn new(name: &str) -> TestCa {
        let ca_key = Ed25519::random();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        // rcgen without a crypto backend cannot pick a serial number itself.
        ca_params.serial_number = Some(rcgen::SerialNumber::from(rand::random::<u64>()));
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, format!("{name} test CA"));
        ca_params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);

        let server_key = Ed25519::random();
        let mut params =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
        params.serial_number = Some(rcgen::SerialNumber::from(rand::random::<u64>()));
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "localhost");
        let cert = params.signed_by(&server_key, &issuer).unwrap();

        let key_der = server_key.key.to_pkcs8_der().unwrap().as_bytes().to_vec();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(cert.der().to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_der)),
            )
            .expect("rustls takes the test certificate");
        TestCa {
            ca_pem: ca_cert.pem(),
            server: Arc::new(server),
        }
    }
}

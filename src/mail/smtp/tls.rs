//! TLS towards the relay: the rustls client configurations, built once per
//! [`Mailer`](super::Mailer) with the ring provider (as the rest of Herald),
//! and the handshake with the errors that name the setting to change. The
//! certificate is verified by rustls-platform-verifier, as reqwest does for
//! the feed fetcher: the OS trust store (on Linux, the PEM bundle that
//! rustls-native-certs finds, where a site installs its private CA), plus
//! `mail.smtp_ca_file`. `tls=opportunistic-unverified` gets a configuration
//! that accepts any certificate, still checking the handshake's signatures.
//! Reads no configuration file itself; the CA file was read at load.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::super::SendError;
use crate::config::{CaFile, Security};

/// The settings a failed handshake names.
const CA_SETTING: &str = "mail.smtp_ca_file (the PEM of the CA that signs the relay's certificate), or \
     mail.smtp_url ?tls=opportunistic-unverified for a relay on loopback or one you name yourself";
const CA_FILE_SETTING: &str = "mail.smtp_ca_file (it must hold the CA that signs the relay's certificate) \
     and the host in mail.smtp_url (it must be one the certificate names)";
const TLS_SETTING: &str = "mail.smtp_url (tls=; the relay and Herald found no TLS they both speak)";

/// How the relay's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// Against the OS trust store and `mail.smtp_ca_file`.
    Verified,
    /// Not at all (`tls=opportunistic-unverified`).
    Unverified,
}

/// The client side of TLS for one mailer.
pub(super) struct Tls {
    config: Result<Arc<ClientConfig>, String>,
    verification: Verification,
    ca_file: Option<std::path::PathBuf>,
}

/// What a finished handshake agreed on, for `config check --connect`.
#[derive(Debug, Clone)]
pub struct TlsInfo {
    pub version: String,
    pub cipher: String,
    pub verification: String,
}

impl Tls {
    /// The configuration for `security`. A failure to build it (no CA
    /// certificate in the OS store and no `mail.smtp_ca_file`) is kept and
    /// reported as a setup fault when a handshake needs it, so that
    /// opportunistic TLS to a relay that offers none works on a machine
    /// without a trust store.
    pub(super) fn new(security: Security, ca: Option<&CaFile>) -> Tls {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verification = match security {
            Security::OpportunisticUnverified => Verification::Unverified,
            _ => Verification::Verified,
        };
        let config = match (security, verification) {
            // No handshake ever happens: the trust store is not read.
            (Security::Plain, _) => Err("tls=none: TLS is off".to_owned()),
            (_, Verification::Unverified) => unverified(provider),
            (_, Verification::Verified) => verified(provider, ca),
        };
        Tls {
            config,
            verification,
            ca_file: ca.map(|c| c.file.clone()),
        }
    }

    /// The handshake on `tcp` for `host`; any failure is a setup fault: a
    /// certificate the trust store does not vouch for, or no protocol in
    /// common, will be the same on the next try.
    pub(super) async fn connect(
        &self,
        host: &str,
        tcp: TcpStream,
    ) -> Result<(TlsStream<TcpStream>, TlsInfo), SendError> {
        let config = self.config.clone().map_err(|message| SendError::Setup {
            setting: CA_SETTING,
            message,
        })?;
        let name = ServerName::try_from(host.to_owned()).map_err(|e| SendError::Setup {
            setting: "mail.smtp_url (its host name)",
            message: format!("{host:?} is not a name TLS can check a certificate against: {e}"),
        })?;
        let stream = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|e| self.handshake_error(e))?;
        let session = stream.get_ref().1;
        let info = TlsInfo {
            version: session
                .protocol_version()
                .map_or("unknown".to_owned(), |v| format!("{v:?}")),
            cipher: session
                .negotiated_cipher_suite()
                .map_or("unknown".to_owned(), |c| format!("{:?}", c.suite())),
            verification: self.describe(),
        };
        Ok((stream, info))
    }

    fn describe(&self) -> String {
        match (self.verification, &self.ca_file) {
            (Verification::Unverified, _) => {
                "not verified (tls=opportunistic-unverified accepts any certificate)".to_owned()
            }
            (Verification::Verified, None) => "verified against the OS trust store".to_owned(),
            (Verification::Verified, Some(file)) => format!(
                "verified against the OS trust store and mail.smtp_ca_file {}",
                file.display()
            ),
        }
    }

    /// A rustls error is a setup fault naming what to change; anything else
    /// (the relay hung up in the middle) is an IO error worth a retry.
    fn handshake_error(&self, e: std::io::Error) -> SendError {
        let rustls_error = e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .cloned();
        match rustls_error {
            Some(rustls::Error::InvalidCertificate(reason)) => SendError::Setup {
                setting: if self.ca_file.is_some() {
                    CA_FILE_SETTING
                } else {
                    CA_SETTING
                },
                message: format!("the relay's TLS certificate is not trusted: {reason:?}"),
            },
            Some(other) => SendError::Setup {
                setting: TLS_SETTING,
                message: format!("TLS handshake failed: {other}"),
            },
            None => SendError::Transient {
                throttle: false,
                message: format!("the connection failed during the TLS handshake: {e}"),
            },
        }
    }
}

/// The OS trust store plus `ca`, through the platform verifier.
fn verified(provider: Arc<CryptoProvider>, ca: Option<&CaFile>) -> Result<Arc<ClientConfig>, String> {
    let extra: Vec<CertificateDer<'static>> = ca.map(|c| c.certs.clone()).unwrap_or_default();
    let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider.clone())
        .map_err(|e| format!("cannot load the trust store for the relay's certificate: {e}"))?;
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

fn unverified(provider: Arc<CryptoProvider>) -> Result<Arc<ClientConfig>, String> {
    let config = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Accepts whatever certificate the relay shows (`tls=opportunistic-
/// unverified`), but still checks that the relay holds its key: the
/// handshake's signatures are verified as usual.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

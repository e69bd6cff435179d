//! Transports: the SMTP relay (one connection per [`Session`], TCP_NODELAY,
//! STARTTLS or implicit TLS, AUTH, then MAIL, RCPT, DATA command by command
//! so that [`classify`](super::classify) knows where a refusal came) or an
//! outbox directory of `.eml` files. It sends what it is given and decides
//! nothing about retries.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncFileTransport, AsyncTransport, Tokio1Executor};

use super::classify::{Stage, classify};
use super::{Email, SendError};
use crate::config::{DeliveryConfig, MailConfig, Security, Transport};

/// Where messages go. Cheap to clone; each sending worker opens its own
/// [`Session`].
#[derive(Clone)]
pub enum Mailer {
    File(AsyncFileTransport<Tokio1Executor>),
    Smtp(Arc<SmtpSettings>),
}

/// How to reach the SMTP relay: `mail.smtp_url` (parsed at load) and the
/// delivery timeouts.
#[derive(Debug)]
pub struct SmtpSettings {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
    connect_timeout: Duration,
    command_timeout: Duration,
}

impl Mailer {
    /// Builds the configured transport once.
    pub fn new(mail: &MailConfig, delivery: &DeliveryConfig) -> anyhow::Result<Mailer> {
        match mail.transport {
            Transport::File => Mailer::file(&mail.outbox_dir),
            Transport::Smtp => {
                let url = &mail.smtp_url;
                // The configuration refuses a password without a user at
                // load, so a password here always has a user to go with.
                let credentials = match (url.user(), mail.smtp_password()) {
                    (Some(user), Some(password)) => {
                        Some(Credentials::new(user.to_owned(), password.to_owned()))
                    }
                    _ => None,
                };
                Ok(Mailer::Smtp(Arc::new(SmtpSettings {
                    host: url.host().to_owned(),
                    port: url.port(),
                    security: url.security(),
                    credentials,
                    connect_timeout: delivery.connect_timeout,
                    command_timeout: delivery.command_timeout,
                })))
            }
        }
    }

    /// A file transport into `dir` (created if missing).
    pub fn file(dir: &Path) -> anyhow::Result<Mailer> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create outbox {}", dir.display()))?;
        Ok(Mailer::File(AsyncFileTransport::new(dir)))
    }

    /// A sending session: one SMTP connection, opened on first use and kept
    /// for the messages that follow.
    pub fn session(&self) -> Session {
        Session {
            mailer: self.clone(),
            conn: None,
        }
    }

    /// Sends one message on a fresh session (for one-off sends).
    pub async fn send(&self, email: &Email) -> Result<(), SendError> {
        let mut session = self.session();
        let result = session.send(email).await;
        session.close().await;
        result
    }
}

/// One worker's connection to the relay.
pub struct Session {
    mailer: Mailer,
    conn: Option<AsyncSmtpConnection>,
}

impl Session {
    pub async fn send(&mut self, email: &Email) -> Result<(), SendError> {
        let settings = match &self.mailer {
            Mailer::File(t) => {
                return t
                    .send_raw(&email.envelope, &email.bytes)
                    .await
                    .map(drop)
                    .map_err(|e| SendError::Transient {
                        throttle: false,
                        message: format!("writing the outbox: {e}"),
                    });
            }
            Mailer::Smtp(settings) => settings.clone(),
        };
        if self.conn.as_ref().is_none_or(AsyncSmtpConnection::has_broken) {
            self.conn = Some(settings.connect().await?);
        }
        let conn = self.conn.as_mut().expect("connected above");
        let result = tokio::time::timeout(settings.command_timeout, transaction(conn, email)).await;
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                // After a refused transaction the session state is unknown
                // (lettre does not RSET): start the next message afresh.
                self.abort().await;
                Err(e)
            }
            Err(_) => {
                self.abort().await;
                Err(SendError::Transient {
                    throttle: false,
                    message: format!(
                        "timed out after {:?} (delivery.command_timeout)",
                        settings.command_timeout
                    ),
                })
            }
        }
    }

    /// Says QUIT if connected.
    pub async fn close(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            let _ = tokio::time::timeout(Duration::from_secs(2), conn.quit()).await;
        }
    }

    async fn abort(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            let _ = tokio::time::timeout(Duration::from_secs(1), conn.abort()).await;
        }
    }
}

/// One mail transaction (MAIL, RCPT, DATA, the message), command by
/// command, so that each refusal is classified by where it came: lettre's
/// `send` does the same steps but does not say which one failed.
async fn transaction(conn: &mut AsyncSmtpConnection, email: &Email) -> Result<(), SendError> {
    use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
    use lettre::transport::smtp::extension::{Extension, MailBodyParameter, MailParameter};

    let mut options = Vec::new();
    if !email.bytes.is_ascii() {
        if !conn.server_info().supports_feature(Extension::EightBitMime) {
            return Err(SendError::Setup {
                setting: "mail.smtp_url (use a relay that offers 8BITMIME)",
                message: "the relay does not offer 8BITMIME, and digests are UTF-8".to_owned(),
            });
        }
        options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    let non_ascii = |a: &lettre::Address| !AsRef::<str>::as_ref(a).is_ascii();
    if email.envelope.from().is_some_and(non_ascii) || email.envelope.to().iter().any(non_ascii) {
        if !conn.server_info().supports_feature(Extension::SmtpUtfEight) {
            // The address, not the setup: other recipients still go.
            return Err(SendError::Transient {
                throttle: false,
                message: "the address is not ASCII and the relay does not offer SMTPUTF8".to_owned(),
            });
        }
        options.push(MailParameter::SmtpUtfEight);
    }
    let from = email.envelope.from().cloned();
    conn.command(Mail::new(from, options))
        .await
        .map_err(|e| classify(Stage::MailFrom, &e))?;
    for to in email.envelope.to() {
        conn.command(Rcpt::new(to.clone(), Vec::new()))
            .await
            .map_err(|e| classify(Stage::Rcpt, &e))?;
    }
    conn.command(Data).await.map_err(|e| classify(Stage::Data, &e))?;
    conn.message(&email.bytes)
        .await
        .map_err(|e| classify(Stage::EndOfData, &e))?;
    Ok(())
}

impl SmtpSettings {
    /// Opens a connection with TCP_NODELAY: lettre's own connector leaves
    /// Nagle's algorithm on, which stalls every message about 40 ms at the
    /// end of DATA (measured: 22 messages/s per connection on loopback).
    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let mut conn = tokio::time::timeout(self.connect_timeout, self.open())
            .await
            .map_err(|_| SendError::Transient {
                throttle: false,
                message: format!(
                    "connecting to {}:{} timed out after {:?} (delivery.connect_timeout)",
                    self.host, self.port, self.connect_timeout
                ),
            })??;
        if let Some(credentials) = &self.credentials {
            tokio::time::timeout(
                self.command_timeout,
                conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials),
            )
            .await
            .map_err(|_| self.transient("authentication timed out at", &"delivery.command_timeout"))?
            .map_err(|e| self.at(classify(Stage::Auth, &e)))?;
        }
        Ok(conn)
    }

    /// TCP (or implicit TLS), the greeting, EHLO and STARTTLS.
    async fn open(&self) -> Result<AsyncSmtpConnection, SendError> {
        let hello = ClientId::default();
        if self.security == Security::Implicit {
            return AsyncSmtpConnection::connect_tokio1(
                (self.host.as_str(), self.port),
                Some(self.command_timeout),
                &hello,
                Some(self.tls()?),
                None,
            )
            .await
            .map_err(|e| self.at(classify(Stage::Greeting, &e)));
        }
        let stream = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| self.transient("cannot connect to", &e))?;
        stream
            .set_nodelay(true)
            .map_err(|e| self.transient("TCP_NODELAY on", &e))?;
        let mut conn = AsyncSmtpConnection::connect_with_transport(Box::new(stream), &hello)
            .await
            .map_err(|e| self.at(classify(Stage::Greeting, &e)))?;
        let offers_tls = conn.can_starttls();
        match self.security {
            Security::Required if !offers_tls => Err(SendError::Setup {
                setting: "mail.smtp_url (tls=required)",
                message: format!("{}:{} does not offer STARTTLS", self.host, self.port),
            }),
            Security::Required | Security::Opportunistic if offers_tls => {
                conn.starttls(self.tls()?, &hello)
                    .await
                    .map_err(|e| self.at(classify(Stage::Tls, &e)))?;
                Ok(conn)
            }
            _ => Ok(conn),
        }
    }

    fn tls(&self) -> Result<TlsParameters, SendError> {
        TlsParameters::new(self.host.clone()).map_err(|e| SendError::Setup {
            setting: "mail.smtp_url (its host name)",
            message: format!("TLS setup for {}:{}: {e}", self.host, self.port),
        })
    }

    fn transient(&self, what: &str, e: &dyn std::fmt::Display) -> SendError {
        SendError::Transient {
            throttle: false,
            message: format!("{what} {}:{}: {e}", self.host, self.port),
        }
    }

    /// Names the relay in an error from the connection's set-up.
    fn at(&self, e: SendError) -> SendError {
        let relay = format!("{}:{}", self.host, self.port);
        match e {
            SendError::Transient { throttle, message } => SendError::Transient {
                throttle,
                message: format!("connecting to {relay}: {message}"),
            },
            SendError::Setup { setting, message } => SendError::Setup {
                setting,
                message: format!("{relay}: {message}"),
            },
            SendError::Rejected { refusal, message } => SendError::Rejected {
                refusal,
                message: format!("{relay}: {message}"),
            },
        }
    }
}

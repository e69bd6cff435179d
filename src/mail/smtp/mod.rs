//! Transports: the SMTP relay, through Herald's own small client, or an
//! outbox directory of `.eml` files (lettre's file transport). The client
//! is Herald's because lettre's connection owns its stream and writes one
//! command at a time, so it cannot pipeline: here one [`Session`] is one
//! connection (TCP_NODELAY; implicit TLS or STARTTLS, then EHLO again;
//! AUTH PLAIN, else LOGIN), kept for the messages that follow and reset
//! (RSET) after a refusal; each message is one [`transaction`]. It sends
//! what it is given and decides nothing about retries; what a refusal
//! means is [`classify`](super::classify)'s.
//!
//! - `conn`: the stream, replies and what EHLO offers.
//! - `transaction`: MAIL, RCPT, DATA (pipelined when offered) and the body.
//! - `tls`: the rustls configurations and the handshake's errors.
//! - `wire`: the dot-stuffed DATA form of a message, made when composed.

mod conn;
mod tls;
mod transaction;
pub(super) mod wire;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use base64::Engine as _;
use lettre::{AsyncFileTransport, AsyncTransport, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpStream;

use self::conn::{Conn, Stream};
pub use self::conn::{Offers, Reply};
use self::tls::Tls;
pub use self::tls::TlsInfo;
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

/// How to reach the SMTP relay: `mail.smtp_url` (parsed at load), the TLS
/// configuration built from it and `mail.smtp_ca_file`, and the delivery
/// timeouts.
pub struct SmtpSettings {
    host: String,
    port: u16,
    security: Security,
    user: Option<String>,
    password: Option<SecretString>,
    tls: Tls,
    /// The name Herald gives in EHLO.
    hello: String,
    connect_timeout: Duration,
    command_timeout: Duration,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SmtpSettings({}:{}, {:?})",
            self.host, self.port, self.security
        )
    }
}

/// What `config check --connect` learned from the relay.
#[derive(Debug, Clone)]
pub struct Probe {
    pub relay: String,
    pub greeting: String,
    pub offers: Offers,
    /// Whether the first EHLO, before any TLS, offered STARTTLS.
    pub starttls: bool,
    /// Set when the session runs under TLS.
    pub tls: Option<TlsInfo>,
    /// The mechanism Herald logged in with, when a user is configured.
    pub authenticated: Option<&'static str>,
}

impl Mailer {
    /// Builds the configured transport once (for SMTP: the TLS
    /// configuration, reading the OS trust store).
    pub fn new(mail: &MailConfig, delivery: &DeliveryConfig) -> anyhow::Result<Mailer> {
        match mail.transport {
            Transport::File => Mailer::file(&mail.outbox_dir),
            Transport::Smtp => Ok(Mailer::smtp(mail, delivery)),
        }
    }

    /// The SMTP transport to `mail.smtp_url`, whatever `mail.transport`
    /// says (`config check --connect` tries the relay before it is used).
    pub fn smtp(mail: &MailConfig, delivery: &DeliveryConfig) -> Mailer {
        let url = &mail.smtp_url;
        // The configuration refuses a password without a user at
        // load, so a password here always has a user to go with.
        let (user, password) = match (url.user(), mail.smtp_password()) {
            (Some(user), Some(password)) => (
                Some(user.to_owned()),
                Some(SecretString::from(password.to_owned())),
            ),
            _ => (None, None),
        };
        let tls = Tls::new(url.security(), mail.smtp_ca.as_ref());
        Mailer::Smtp(Arc::new(SmtpSettings {
            host: url.host().to_owned(),
            port: url.port(),
            security: url.security(),
            user,
            password,
            tls,
            hello: hello_name(),
            connect_timeout: delivery.connect_timeout,
            command_timeout: delivery.command_timeout,
        }))
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

    /// Connects to the relay as a session would (EHLO, STARTTLS, AUTH),
    /// reports what it offers and says QUIT; sends no mail. `None` for the
    /// file transport.
    pub async fn probe(&self) -> Option<Result<Probe, SendError>> {
        let Mailer::Smtp(settings) = self else {
            return None;
        };
        let mut open = match settings.connect().await {
            Ok(open) => open,
            Err(e) => return Some(Err(e)),
        };
        // QUIT is a courtesy: its answer changes nothing.
        let _ = tokio::time::timeout(settings.command_timeout, open.conn.command("QUIT")).await;
        Some(Ok(Probe {
            relay: format!("{}:{}", settings.host, settings.port),
            greeting: open.greeting,
            offers: open.offers,
            starttls: open.starttls,
            tls: open.tls,
            authenticated: open.authenticated,
        }))
    }
}

/// One worker's connection to the relay.
pub struct Session {
    mailer: Mailer,
    conn: Option<Open>,
}

/// An open, greeted (and, as configured, encrypted and authenticated)
/// connection.
struct Open {
    conn: Conn,
    offers: Offers,
    greeting: String,
    starttls: bool,
    tls: Option<TlsInfo>,
    authenticated: Option<&'static str>,
}

impl Session {
    /// Sends one message: [`begin`](Self::begin) and [`end`](Self::end)
    /// at once.
    pub async fn send(&mut self, email: &Email) -> Result<(), SendError> {
        self.begin(email).await?;
        self.end(email).await
    }

    /// Moves `email` to the relay but for its terminating line: the relay
    /// holds it undelivered until [`end`](Self::end), which must come
    /// before another message begins. An error means nothing was
    /// delivered. (The file transport writes at `end`.)
    pub async fn begin(&mut self, email: &Email) -> Result<(), SendError> {
        let settings = match &self.mailer {
            Mailer::File(_) => return Ok(()),
            Mailer::Smtp(settings) => settings.clone(),
        };
        let reused = self.conn.is_some();
        let result = self.attempt(&settings, email).await;
        match result {
            // A kept connection the relay closed while it sat idle fails
            // before MAIL is answered: nothing was accepted, so a fresh
            // connection gets the message at once.
            Err(Attempt::Stale(_)) if reused => match self.attempt(&settings, email).await {
                Err(Attempt::Stale(e) | Attempt::Failed(e)) => Err(e),
                Ok(()) => Ok(()),
            },
            Err(Attempt::Stale(e) | Attempt::Failed(e)) => Err(e),
            Ok(()) => Ok(()),
        }
    }

    /// Ends the message [`begin`](Self::begin) moved: the relay's verdict.
    pub async fn end(&mut self, email: &Email) -> Result<(), SendError> {
        let settings = match &self.mailer {
            Mailer::File(t) => {
                return t
                    .send_raw(&email.envelope, &email.to_bytes())
                    .await
                    .map(drop)
                    .map_err(|e| SendError::Transient {
                        throttle: false,
                        message: format!("writing the outbox: {e}"),
                    });
            }
            Mailer::Smtp(settings) => settings.clone(),
        };
        let Some(open) = self.conn.as_mut() else {
            return Err(SendError::Transient {
                throttle: false,
                message: "the connection was lost before the end of the message".to_owned(),
            });
        };
        let result =
            match tokio::time::timeout(settings.command_timeout, transaction::end(&mut open.conn)).await {
                Ok(result) => result,
                Err(_) => {
                    open.conn.broken = true;
                    Err(settings.timed_out())
                }
            };
        if open.conn.broken {
            self.conn = None;
        }
        result
    }

    /// One try at [`begin`](Self::begin) on the kept connection, or a new
    /// one.
    async fn attempt(&mut self, settings: &SmtpSettings, email: &Email) -> Result<(), Attempt> {
        if self.conn.as_ref().is_none_or(|open| open.conn.broken) {
            self.conn = Some(settings.connect().await.map_err(Attempt::Failed)?);
        }
        let open = self.conn.as_mut().expect("connected above");
        let result = tokio::time::timeout(
            settings.command_timeout,
            transaction::begin(&mut open.conn, &open.offers, email),
        )
        .await;
        let result = match result {
            Ok(result) => result,
            Err(_) => {
                // The relay's state is unknown: start afresh next time.
                open.conn.broken = true;
                Err(settings.timed_out())
            }
        };
        let stale =
            matches!(&result, Err(SendError::Transient { message, .. }) if message.starts_with(STALE));
        if open.conn.broken {
            self.conn = None;
        }
        match result {
            Err(e) if stale => Err(Attempt::Stale(e)),
            Err(e) => Err(Attempt::Failed(e)),
            Ok(()) => Ok(()),
        }
    }

    /// Drops the connection without a word: a message begun and not ended
    /// is not delivered.
    pub fn abandon(&mut self) {
        self.conn = None;
    }

    /// Says QUIT if connected.
    pub async fn close(&mut self) {
        if let Some(mut open) = self.conn.take() {
            let _ = tokio::time::timeout(Duration::from_secs(2), open.conn.command("QUIT")).await;
        }
    }
}

/// How a connection failed before the relay answered MAIL (see
/// `transaction::lost`).
const STALE: &str = "the connection failed at MAIL FROM";

enum Attempt {
    Stale(SendError),
    Failed(SendError),
}

impl SmtpSettings {
    fn timed_out(&self) -> SendError {
        SendError::Transient {
            throttle: false,
            message: format!(
                "timed out after {:?} (delivery.command_timeout)",
                self.command_timeout
            ),
        }
    }

    /// A connection ready for MAIL: TCP (TCP_NODELAY), TLS as configured,
    /// the greeting and EHLO within `delivery.connect_timeout`, then AUTH
    /// within `delivery.command_timeout`.
    async fn connect(&self) -> Result<Open, SendError> {
        let mut open = tokio::time::timeout(self.connect_timeout, self.open())
            .await
            .map_err(|_| {
                self.transient(
                    "connecting timed out",
                    &format!("after {:?} (delivery.connect_timeout)", self.connect_timeout),
                )
            })?
            .map_err(|e| self.at(e))?;
        if let (Some(user), Some(password)) = (&self.user, &self.password) {
            let mechanism = tokio::time::timeout(
                self.command_timeout,
                self.auth(&mut open.conn, &open.offers, user, password),
            )
            .await
            .map_err(|_| {
                self.transient(
                    "authentication timed out",
                    &format!("after {:?} (delivery.command_timeout)", self.command_timeout),
                )
            })?
            .map_err(|e| self.at(e))?;
            open.authenticated = Some(mechanism);
        }
        Ok(open)
    }

    /// TCP, TLS as configured, the greeting, EHLO and STARTTLS.
    async fn open(&self) -> Result<Open, SendError> {
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| SendError::Transient {
                throttle: false,
                message: format!("cannot connect: {e}"),
            })?;
        // Without TCP_NODELAY, Nagle's algorithm holds back the short writes
        // (a command, the end of a message) until the relay's delayed ACK:
        // about 40 ms a message (measured: 22 messages/s per connection on
        // loopback).
        tcp.set_nodelay(true).map_err(|e| SendError::Transient {
            throttle: false,
            message: format!("TCP_NODELAY: {e}"),
        })?;
        let (stream, mut tls) = if self.security == Security::Implicit {
            let (stream, info) = self.tls.connect(&self.host, tcp).await?;
            (Stream::Tls(Box::new(stream)), Some(info))
        } else {
            (Stream::Plain(tcp), None)
        };
        let mut conn = Conn::new(stream);
        let greeting = conn.reply().await.map_err(|e| lost("the greeting", &e))?;
        if greeting.code != 220 {
            return Err(classify(Stage::Greeting, &greeting));
        }
        let mut offers = self.ehlo(&mut conn).await?;
        let starttls = offers.starttls;
        let wants_tls = match self.security {
            Security::Plain | Security::Implicit => false,
            Security::Required if !offers.starttls => {
                return Err(SendError::Setup {
                    setting: "mail.smtp_url (tls=required)",
                    message: "the relay does not offer STARTTLS".to_owned(),
                });
            }
            Security::Required | Security::Opportunistic | Security::OpportunisticUnverified => {
                offers.starttls
            }
        };
        if wants_tls {
            let reply = conn.command("STARTTLS").await.map_err(|e| lost("STARTTLS", &e))?;
            if reply.code != 220 {
                return Err(classify(Stage::Tls, &reply));
            }
            let tcp = conn.into_tcp().map_err(|e| SendError::Setup {
                setting: "mail.smtp_url (tls=)",
                message: format!("STARTTLS: {e}"),
            })?;
            let (stream, info) = self.tls.connect(&self.host, tcp).await?;
            conn = Conn::new(Stream::Tls(Box::new(stream)));
            tls = Some(info);
            // RFC 3207: what the relay said before TLS is forgotten.
            offers = self.ehlo(&mut conn).await?;
        }
        Ok(Open {
            conn,
            offers,
            greeting: greeting.to_string(),
            starttls,
            tls,
            authenticated: None,
        })
    }

    /// EHLO, or HELO for a relay that knows no EHLO (it offers nothing).
    async fn ehlo(&self, conn: &mut Conn) -> Result<Offers, SendError> {
        let reply = conn
            .command(&format!("EHLO {}", self.hello))
            .await
            .map_err(|e| lost("EHLO", &e))?;
        if reply.code == 250 {
            return Ok(Offers::parse(&reply));
        }
        if !matches!(reply.code, 500 | 502) {
            return Err(classify(Stage::Greeting, &reply));
        }
        let reply = conn
            .command(&format!("HELO {}", self.hello))
            .await
            .map_err(|e| lost("HELO", &e))?;
        if reply.code != 250 {
            return Err(classify(Stage::Greeting, &reply));
        }
        Ok(Offers {
            name: reply.lines.first().cloned().unwrap_or_default(),
            ..Offers::default()
        })
    }

    /// AUTH PLAIN when offered, else LOGIN (RFC 4954, RFC 4616).
    async fn auth(
        &self,
        conn: &mut Conn,
        offers: &Offers,
        user: &str,
        password: &SecretString,
    ) -> Result<&'static str, SendError> {
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
        let password = password.expose_secret();
        let refused = |reply: &Reply| classify(Stage::Auth, reply);
        let io = |e: std::io::Error| lost("AUTH", &e);
        if offers.auth("PLAIN") {
            let token = b64(format!("\0{user}\0{password}").as_bytes());
            let reply = conn.command(&format!("AUTH PLAIN {token}")).await.map_err(io)?;
            return if reply.code == 235 {
                Ok("PLAIN")
            } else {
                Err(refused(&reply))
            };
        }
        if offers.auth("LOGIN") {
            let mut reply = conn.command("AUTH LOGIN").await.map_err(io)?;
            for answer in [user, password] {
                if reply.code != 334 {
                    return Err(refused(&reply));
                }
                reply = conn.command(&b64(answer.as_bytes())).await.map_err(io)?;
            }
            return if reply.code == 235 {
                Ok("LOGIN")
            } else {
                Err(refused(&reply))
            };
        }
        Err(SendError::Setup {
            setting: "the user in mail.smtp_url (the relay offers no AUTH PLAIN or LOGIN on this connection; \
                      many offer AUTH only under TLS)",
            message: format!(
                "the relay offers AUTH {}",
                if offers.auth.is_empty() {
                    "with no mechanism".to_owned()
                } else {
                    offers.auth.join(" ")
                }
            ),
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

/// The connection failed while setting up the session.
fn lost(what: &str, e: &std::io::Error) -> SendError {
    SendError::Transient {
        throttle: false,
        message: format!("the connection failed at {what}: {e}"),
    }
}

/// The name Herald gives in EHLO: the machine's host name when the kernel
/// has a usable one, else `localhost` (what lettre sent without its
/// hostname feature).
fn hello_name() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let name = name.trim();
    let usable = !name.is_empty()
        && name.len() <= 253
        && name
            .split('.')
            .all(|label| !label.is_empty() && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    if usable {
        name.to_owned()
    } else {
        "localhost".to_owned()
    }
}

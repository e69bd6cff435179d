//! Reading the bounce mailbox over IMAP (`bounces.imap_url`): connect with
//! TLS (implicit for `imaps`, STARTTLS for `imap`, never in the clear),
//! LOGIN, SELECT, find by UID the messages not yet processed, fetch them in
//! batches, hand each raw message to the caller, and mark processed only
//! the ones the caller accepted: moved to `bounces.imap_move_to` (UID MOVE,
//! else COPY, \Deleted and EXPUNGE) or flagged `\Seen $HeraldProcessed`.
//! Every step has a timeout, and every error names the server and the
//! command, never the password. What a message says is `parse`'s business
//! and what is done about it `intake`'s; this module knows neither, and has
//! no store.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use async_imap::types::{Flag, Mailbox};
use async_imap::{Client, Session};
use futures_util::{Stream, StreamExt};
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::config::ImapConfig;

/// The keyword that marks a message Herald has processed, when it is not
/// moved away.
pub const PROCESSED: &str = "$HeraldProcessed";

/// How long each step may take and how much is read at once.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// TCP connect, TLS handshake and the server's greeting, together.
    pub connect_timeout: Duration,
    /// One command and its whole answer (for FETCH: each message of it).
    pub command_timeout: Duration,
    /// Messages fetched, handed over and marked per round.
    pub batch: usize,
    /// Bytes of each message fetched (`BODY.PEEK[]<0.N>`). What a report
    /// says comes before the copy of the original it returns, so the start
    /// is enough, and one huge returned attachment costs no memory.
    pub max_message_bytes: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            connect_timeout: Duration::from_secs(30),
            command_timeout: Duration::from_secs(60),
            batch: 25,
            max_message_bytes: 1 << 20,
        }
    }
}

/// What one read of the mailbox did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadSummary {
    /// Messages found not yet processed.
    pub seen: usize,
    /// Messages the caller accepted and that were then marked processed.
    pub processed: usize,
    /// Messages the caller refused (left as they were, for the next read).
    pub failed: usize,
}

/// Reads `config`'s mailbox once: every message not yet processed is handed
/// to `accept` once, as raw RFC 5322 bytes; the ones it accepts (`Ok`) are
/// marked processed at the end of their batch, the ones it refuses stay for
/// the next read. A failure of the server (connection, login, a command)
/// ends the read with an error; messages accepted in earlier batches stay
/// marked. A message accepted but not yet marked when the read fails is
/// handed over again next time, which the intake tolerates (a report seen
/// twice is recorded once).
pub async fn read_mailbox<F, Fut>(
    config: &ImapConfig,
    limits: &Limits,
    mut accept: F,
) -> anyhow::Result<ReadSummary>
where
    F: FnMut(Vec<u8>) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let server = Server::of(config);
    let mut session = connect(config, limits, &server).await?;
    let result = read_selected(&mut session, config, limits, &server, &mut accept).await;
    // A polite LOGOUT; the read's outcome does not depend on it.
    let _ = tokio::time::timeout(limits.command_timeout, session.logout()).await;
    result
}

/// `host:port` of the server, for error messages.
struct Server(String);

impl Server {
    fn of(config: &ImapConfig) -> Server {
        let host = config.host();
        Server(if host.contains(':') {
            format!("[{host}]:{}", config.port())
        } else {
            format!("{host}:{}", config.port())
        })
    }
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IMAP server {} (bounces.imap_url)", self.0)
    }
}

type Imap = Session<TlsStream<TcpStream>>;

/// TCP, TLS (directly or after STARTTLS), greeting and LOGIN.
async fn connect(config: &ImapConfig, limits: &Limits, server: &Server) -> anyhow::Result<Imap> {
    let client = tokio::time::timeout(limits.connect_timeout, open(config, server))
        .await
        .map_err(|_| {
            anyhow!(
                "{server}: no TLS session and greeting within {:?}",
                limits.connect_timeout
            )
        })??;
    let user = config.user();
    match timed(limits, server, "LOGIN", client.login(&user, config.password())).await? {
        Ok(session) => Ok(session),
        Err((e, _)) => Err(anyhow!(
            "{server}: LOGIN as {user:?} refused ({e}); check the user in bounces.imap_url and the password (HERALD_BOUNCES__IMAP_PASSWORD or bounces.imap_password_file)"
        )),
    }
}

async fn open(config: &ImapConfig, server: &Server) -> anyhow::Result<Client<TlsStream<TcpStream>>> {
    let host = config.host();
    let tcp = TcpStream::connect((host.as_str(), config.port()))
        .await
        .with_context(|| format!("{server}: cannot connect"))?;
    let tcp = if config.implicit_tls() {
        tcp
    } else {
        let mut plain = Client::new(tcp);
        greeting(&mut plain, server).await?;
        plain
            .run_command_and_check_ok("STARTTLS", None)
            .await
            .with_context(|| format!("{server}: STARTTLS refused (use imaps:// for a server that only offers TLS on its own port)"))?;
        plain.into_inner()
    };
    let connector = tokio_rustls::TlsConnector::from(tls_config(config)?);
    let name = ServerName::try_from(host.clone())
        .with_context(|| format!("{server}: {host:?} is not a host name"))?;
    let tls = connector.connect(name, tcp).await.map_err(|e| {
        let hint = if config.ca.is_some() {
            "bounces.imap_ca_file does not sign it"
        } else {
            "for a private CA, set bounces.imap_ca_file"
        };
        anyhow!("{server}: TLS handshake failed: {e} ({hint})")
    })?;
    let mut client = Client::new(tls);
    if config.implicit_tls() {
        greeting(&mut client, server).await?;
    }
    Ok(client)
}

/// Reads the server's first line, which must not be BYE.
async fn greeting<T>(client: &mut Client<T>, server: &Server) -> anyhow::Result<()>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + fmt::Debug + Send,
{
    use async_imap::imap_proto::{Response, Status};
    let first = client
        .read_response()
        .await
        .with_context(|| format!("{server}: reading the greeting"))?
        .ok_or_else(|| anyhow!("{server}: closed the connection before its greeting"))?;
    match first.parsed() {
        Response::Data {
            status: Status::Bye,
            outcome,
        } => bail!(
            "{server}: refused the connection: {}",
            outcome.information.as_deref().unwrap_or("BYE")
        ),
        _ => Ok(()),
    }
}

/// rustls with ring, trusting `bounces.imap_ca_file` or else the public
/// web roots.
fn tls_config(config: &ImapConfig) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    match &config.ca {
        Some(ca) => {
            for cert in &ca.certs {
                roots.add(cert.clone()).context("bounces.imap_ca_file")?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .context("TLS setup for the IMAP client")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(tls))
}

/// SELECT, SEARCH, then fetch, hand over and mark one batch at a time.
async fn read_selected<F, Fut>(
    session: &mut Imap,
    config: &ImapConfig,
    limits: &Limits,
    server: &Server,
    accept: &mut F,
) -> anyhow::Result<ReadSummary>
where
    F: FnMut(Vec<u8>) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let mailbox = &config.mailbox;
    let selected = timed(limits, server, "SELECT", session.select(mailbox))
        .await?
        .with_context(|| format!("{server}: SELECT {mailbox:?} (bounces.imap_mailbox)"))?;
    let mark = marking(session, config, limits, server, &selected).await?;

    let query = format!("UNDELETED UNKEYWORD {PROCESSED}");
    let mut uids: Vec<u32> = timed(limits, server, "UID SEARCH", session.uid_search(&query))
        .await?
        .with_context(|| format!("{server}: UID SEARCH {query}"))?
        .into_iter()
        .collect();
    uids.sort_unstable();

    let mut summary = ReadSummary {
        seen: uids.len(),
        ..ReadSummary::default()
    };
    for chunk in uids.chunks(limits.batch.max(1)) {
        let messages = fetch(session, limits, server, chunk).await?;
        // A UID the search found but the fetch did not return was expunged
        // meanwhile by someone else: not seen after all.
        summary.seen -= chunk.len() - messages.len();
        let mut accepted = Vec::with_capacity(messages.len());
        for (uid, raw) in messages {
            match accept(raw).await {
                Ok(()) => accepted.push(uid),
                Err(e) => {
                    summary.failed += 1;
                    tracing::warn!(uid, mailbox = %mailbox, error = %format!("{e:#}"), "bounce message not accepted; left for the next read");
                }
            }
        }
        mark_processed(session, &mark, limits, server, &accepted).await?;
        summary.processed += accepted.len();
    }
    Ok(summary)
}

/// How accepted messages are marked, decided once per read.
enum Mark {
    Flag,
    Move {
        to: String,
        uid_move: bool,
        uid_expunge: bool,
    },
}

/// Checks the server can mark messages the configured way: the
/// `bounces.imap_move_to` folder exists (it is created if not), or the
/// mailbox keeps keywords (else every read would hand the same messages
/// over again).
async fn marking(
    session: &mut Imap,
    config: &ImapConfig,
    limits: &Limits,
    server: &Server,
    selected: &Mailbox,
) -> anyhow::Result<Mark> {
    let Some(to) = &config.move_to else {
        let keeps = selected.permanent_flags.is_empty()
            || selected
                .permanent_flags
                .iter()
                .any(|f| matches!(f, Flag::MayCreate) || matches!(f, Flag::Custom(k) if k == PROCESSED));
        if !keeps {
            bail!(
                "{server}: {:?} does not keep the keyword {PROCESSED} (its PERMANENTFLAGS lack \\*); set bounces.imap_move_to so processed messages are moved instead",
                config.mailbox
            );
        }
        return Ok(Mark::Flag);
    };
    let caps = timed(limits, server, "CAPABILITY", session.capabilities())
        .await?
        .with_context(|| format!("{server}: CAPABILITY"))?;
    let pattern = quoted(to);
    let exists = {
        let names = timed(limits, server, "LIST", session.list(Some(""), Some(&pattern)))
            .await?
            .with_context(|| format!("{server}: LIST {pattern}"))?;
        let names: Vec<_> = drain(names, limits, server, "LIST").await?;
        !names.is_empty()
    };
    if !exists {
        timed(limits, server, "CREATE", session.create(to))
            .await?
            .with_context(|| format!("{server}: CREATE {to:?} (bounces.imap_move_to)"))?;
        tracing::info!(folder = %to, "created the bounces.imap_move_to folder");
    }
    Ok(Mark::Move {
        to: to.clone(),
        uid_move: caps.has_str("MOVE"),
        uid_expunge: caps.has_str("UIDPLUS"),
    })
}

/// `UID FETCH set (UID BODY.PEEK[]<0.N>)`: the raw start of each message,
/// by UID, without setting \Seen.
async fn fetch(
    session: &mut Imap,
    limits: &Limits,
    server: &Server,
    uids: &[u32],
) -> anyhow::Result<Vec<(u32, Vec<u8>)>> {
    let set = uid_set(uids);
    let query = format!("(UID BODY.PEEK[]<0.{}>)", limits.max_message_bytes);
    let stream = timed(limits, server, "UID FETCH", session.uid_fetch(&set, &query))
        .await?
        .with_context(|| format!("{server}: UID FETCH {set} {query}"))?;
    let fetched: Vec<async_imap::types::Fetch> = drain(stream, limits, server, "UID FETCH").await?;
    let mut messages = Vec::with_capacity(fetched.len());
    for f in &fetched {
        // Unsolicited FETCH responses (flag changes by another client) carry
        // no body; only the answers to this fetch do.
        if let (Some(uid), Some(body)) = (f.uid, f.body())
            && uids.binary_search(&uid).is_ok()
        {
            messages.push((uid, body.to_vec()));
        }
    }
    messages.sort_unstable_by_key(|(uid, _)| *uid);
    messages.dedup_by_key(|(uid, _)| *uid);
    Ok(messages)
}

async fn mark_processed(
    session: &mut Imap,
    mark: &Mark,
    limits: &Limits,
    server: &Server,
    uids: &[u32],
) -> anyhow::Result<()> {
    if uids.is_empty() {
        return Ok(());
    }
    let set = uid_set(uids);
    match mark {
        Mark::Flag => {
            store(
                session,
                limits,
                server,
                &set,
                &format!("+FLAGS.SILENT (\\Seen {PROCESSED})"),
            )
            .await
        }
        Mark::Move {
            to, uid_move: true, ..
        } => timed(limits, server, "UID MOVE", session.uid_mv(&set, to))
            .await?
            .with_context(|| format!("{server}: UID MOVE {set} {to:?} (bounces.imap_move_to)")),
        Mark::Move {
            to,
            uid_move: false,
            uid_expunge,
        } => {
            timed(limits, server, "UID COPY", session.uid_copy(&set, to))
                .await?
                .with_context(|| format!("{server}: UID COPY {set} {to:?} (bounces.imap_move_to)"))?;
            store(
                session,
                limits,
                server,
                &set,
                &format!("+FLAGS.SILENT (\\Seen \\Deleted {PROCESSED})"),
            )
            .await?;
            if *uid_expunge {
                let gone = timed(limits, server, "UID EXPUNGE", session.uid_expunge(&set))
                    .await?
                    .with_context(|| format!("{server}: UID EXPUNGE {set}"))?;
                drain(gone, limits, server, "UID EXPUNGE").await?;
            } else {
                // Without UIDPLUS, EXPUNGE also removes what others marked
                // \Deleted in this mailbox, which is what \Deleted asks for.
                let gone = timed(limits, server, "EXPUNGE", session.expunge())
                    .await?
                    .with_context(|| format!("{server}: EXPUNGE"))?;
                drain(gone, limits, server, "EXPUNGE").await?;
            }
            Ok(())
        }
    }
}

async fn store(
    session: &mut Imap,
    limits: &Limits,
    server: &Server,
    set: &str,
    flags: &str,
) -> anyhow::Result<()> {
    let answers = timed(limits, server, "UID STORE", session.uid_store(set, flags))
        .await?
        .with_context(|| format!("{server}: UID STORE {set} {flags}"))?;
    drain(answers, limits, server, "UID STORE").await?;
    Ok(())
}

/// `command`'s future within the command timeout.
async fn timed<T>(
    limits: &Limits,
    server: &Server,
    command: &str,
    fut: impl Future<Output = T>,
) -> anyhow::Result<T> {
    tokio::time::timeout(limits.command_timeout, fut)
        .await
        .map_err(|_| {
            anyhow!(
                "{server}: no answer to {command} within {:?}",
                limits.command_timeout
            )
        })
}

/// Reads a command's answers to the end (the tagged OK), each within the
/// command timeout.
async fn drain<S, T>(stream: S, limits: &Limits, server: &Server, command: &str) -> anyhow::Result<Vec<T>>
where
    S: Stream<Item = async_imap::error::Result<T>>,
{
    let mut stream = std::pin::pin!(stream);
    let mut items = Vec::new();
    while let Some(item) = timed(limits, server, command, stream.next()).await? {
        items.push(item.with_context(|| format!("{server}: {command}"))?);
    }
    Ok(items)
}

/// An IMAP quoted string (the configuration rejects CR, LF and `"`).
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\"))
}

/// A sorted list of UIDs as an IMAP sequence set: `3:5,8,10:11`.
fn uid_set(uids: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end + 1 {
            i += 1;
            end = uids[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_join_runs() {
        assert_eq!(uid_set(&[7]), "7");
        assert_eq!(uid_set(&[1, 2, 3, 5, 8, 9]), "1:3,5,8:9");
        assert_eq!(uid_set(&[]), "");
    }

    #[test]
    fn folder_names_are_quoted() {
        assert_eq!(quoted("Processed"), "\"Processed\"");
        assert_eq!(quoted("a\\b"), "\"a\\\\b\"");
    }
}

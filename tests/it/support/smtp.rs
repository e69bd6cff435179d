//! A real SMTP server for integration tests, running in this process on
//! 127.0.0.1 and a port the OS picks. The protocol (command parsing, the
//! SMTP state machine, replies, dot-unstuffing of DATA) is the `mailin`
//! crate's; this file only adds the socket loop around it, records every
//! message it accepts (envelope plus the raw DATA), and lets a test make it
//! refuse chosen senders at MAIL, recipients at RCPT or messages at the end
//! of DATA with a chosen code (450, 550, 421, ...) and text, or hang up on
//! them without a reply, always or only the
//! first N times, and answer each message only after a delay (a slow
//! relay: [`Policy::delay_each`]). It stops when the `SmtpSink` is dropped.
//!
//! ```ignore
//! let sink = SmtpSink::start_with(
//!     Policy::new()
//!         .on_rcpt("gone@example.com", Reply::Code(550))
//!         .on_data("busy@example.com", Reply::Code(450))
//!         .times(1),
//! );
//! // point the sender at 127.0.0.1:{sink.port}, plain SMTP, no auth
//! let got = sink.wait_for(1, Duration::from_secs(5));
//! assert_eq!(got[0].rcpt_to, ["busy@example.com"]);
//! ```
//!
//! What the server offers: by default PIPELINING and 8BITMIME (no AUTH,
//! SIZE or SMTPUTF8) over plain TCP; an [`Offer`] turns either off and adds
//! TLS (STARTTLS or implicit, with a certificate the test made: rustls's
//! blocking API around the same socket loop). Input is read in chunks and
//! split into lines, so several pipelined commands in one read are each
//! answered in order; [`SmtpSink::pipelined_reads`] counts the reads that
//! held more than one command. `mailin` refuses a null sender
//! (`MAIL FROM:<>`) and RCPT parameters with 500.

use std::cell::Cell;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, TcpListener, TcpStream};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use mailin::{Action, Handler, Response, SessionBuilder};

/// How often a connection thread looks at the stop flag while it waits for
/// the client.
const POLL: Duration = Duration::from_millis(100);

/// The name the server gives in its greeting.
const SERVER_NAME: &str = "sink.test";

/// One message the sink accepted: its DATA was answered 250.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The address given in `MAIL FROM:<...>`, without the brackets.
    pub mail_from: String,
    /// The addresses accepted at `RCPT TO:<...>`, in the order given;
    /// recipients the policy refused are not here.
    pub rcpt_to: Vec<String>,
    /// The message as sent after DATA (headers, blank line, body), with its
    /// CRLF line ends and dot-stuffing undone, without the final `.` line.
    pub data: Vec<u8>,
    /// Whether MAIL FROM said BODY=8BITMIME.
    pub body_8bit: bool,
}

impl Received {
    /// The DATA as text (invalid UTF-8 replaced), for `contains` checks.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }
}

/// What the sink does, instead of accepting, when a [`Policy`] rule fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// Answer with this code (400..=599; 4xx is transient, 5xx permanent).
    /// After 421 the server closes the connection, as RFC 5321 says.
    Code(u16),
    /// Answer with this code and text, e.g. `(554, "5.7.1 Relay access
    /// denied")`, as a real relay words it.
    Text(u16, &'static str),
    /// Close the connection without answering the command (at RCPT) or the
    /// end of the message (at DATA). The message is not recorded.
    Drop,
}

/// The point of the SMTP transaction at which a rule applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The `MAIL FROM` command; the rule's address is the sender's.
    Mail,
    /// The `RCPT TO` command for the rule's address.
    Rcpt,
    /// The end of the DATA of a message that has the rule's address among
    /// its accepted recipients (the whole message gets the reply).
    Data,
}

#[derive(Debug, Clone)]
struct Rule {
    stage: Stage,
    /// Lower-cased; `*` matches any address.
    address: String,
    reply: Reply,
    /// `None`: every time; `Some(n)`: n more times, then the rule is spent.
    remaining: Option<usize>,
}

/// Which recipients the sink refuses, and how. The empty policy accepts
/// everything. Rules are tried in the order they were added; the first one
/// that matches (and is not spent) decides.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    rules: Vec<Rule>,
    /// How long the end of each message's DATA waits before its answer.
    delay: Duration,
}

impl Policy {
    /// A policy that accepts every message.
    pub fn new() -> Policy {
        Policy::default()
    }

    /// `RCPT TO:<address>` gets `reply`. Addresses compare without regard
    /// to case; `"*"` matches every recipient.
    pub fn on_rcpt(self, address: &str, reply: Reply) -> Policy {
        self.rule(Stage::Rcpt, address, reply)
    }

    /// The end of the DATA of any message addressed (among others) to
    /// `address` gets `reply`. `"*"` matches every message.
    pub fn on_data(self, address: &str, reply: Reply) -> Policy {
        self.rule(Stage::Data, address, reply)
    }

    /// Adds a rule for `stage`; `on_rcpt` and `on_data` are shorthands.
    pub fn rule(mut self, stage: Stage, address: &str, reply: Reply) -> Policy {
        if let Reply::Code(code) | Reply::Text(code, _) = reply {
            assert!(
                (400..=599).contains(&code),
                "a policy reply must be a 4xx or 5xx code, not {code}"
            );
        }
        self.rules.push(Rule {
            stage,
            address: address.to_lowercase(),
            reply,
            remaining: None,
        });
        self
    }

    /// Answers the end of every message's DATA only after `delay` (accepted
    /// messages are recorded when the answer goes out): a slow relay.
    pub fn delay_each(mut self, delay: Duration) -> Policy {
        self.delay = delay;
        self
    }

    /// Limits the rule added last to its first `n` firings; after that the
    /// sink accepts as if the rule were not there (e.g. 450 once, then 250).
    pub fn times(mut self, n: usize) -> Policy {
        let rule = self
            .rules
            .last_mut()
            .expect("Policy::times applies to the rule added last; add one first");
        rule.remaining = Some(n);
        self
    }

    /// The reply of the first live rule of `stage` that matches one of
    /// `addresses`, counting the firing against that rule.
    fn fire(&mut self, stage: Stage, addresses: &[String]) -> Option<Reply> {
        let rule = self.rules.iter_mut().find(|rule| {
            rule.stage == stage
                && rule.remaining != Some(0)
                && (rule.address == "*" || addresses.iter().any(|a| a.to_lowercase() == rule.address))
        })?;
        if let Some(n) = rule.remaining.as_mut() {
            *n -= 1;
        }
        Some(rule.reply)
    }
}

/// What the server offers in its EHLO reply, and how TLS is spoken.
#[derive(Clone)]
pub struct Offer {
    pub pipelining: bool,
    pub eight_bit_mime: bool,
    pub tls: Option<(TlsMode, Arc<rustls::ServerConfig>)>,
}

/// How the server speaks TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// STARTTLS is offered after the plain greeting.
    StartTls,
    /// TLS from the first byte (smtps).
    Implicit,
}

impl Default for Offer {
    /// PIPELINING and 8BITMIME, no TLS.
    fn default() -> Offer {
        Offer {
            pipelining: true,
            eight_bit_mime: true,
            tls: None,
        }
    }
}

/// State shared by the test, the accept thread and the connection threads.
struct Shared {
    offer: Offer,
    pipelined_reads: AtomicUsize,
    connections: AtomicUsize,
    policy: Mutex<Policy>,
    messages: Mutex<Vec<Received>>,
    arrived: Condvar,
    stop: AtomicBool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running SMTP server on 127.0.0.1:`port`. Dropping it stops the server:
/// new connections are refused and open ones are closed within ~100 ms.
pub struct SmtpSink {
    /// The port the server listens on (host 127.0.0.1).
    pub port: u16,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl SmtpSink {
    /// Starts a server that accepts every message.
    pub fn start() -> SmtpSink {
        SmtpSink::start_with(Policy::new())
    }

    /// Starts a server that refuses recipients as `policy` says.
    pub fn start_with(policy: Policy) -> SmtpSink {
        SmtpSink::start_offering(Offer::default(), policy)
    }

    /// Starts a server that offers what `offer` says and refuses as
    /// `policy` says.
    pub fn start_offering(offer: Offer, policy: Policy) -> SmtpSink {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .expect("the test SMTP server cannot bind 127.0.0.1:0");
        let port = listener
            .local_addr()
            .expect("the test SMTP server has no local address")
            .port();
        let shared = Arc::new(Shared {
            offer,
            pipelined_reads: AtomicUsize::new(0),
            connections: AtomicUsize::new(0),
            policy: Mutex::new(policy),
            messages: Mutex::new(Vec::new()),
            arrived: Condvar::new(),
            stop: AtomicBool::new(false),
        });
        let for_acceptor = Arc::clone(&shared);
        let acceptor = thread::Builder::new()
            .name(format!("smtp-sink:{port}"))
            .spawn(move || accept_loop(&listener, &for_acceptor))
            .expect("cannot start the test SMTP server's thread");
        SmtpSink {
            port,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Replaces the policy; transactions already past a stage keep the
    /// answer they got.
    pub fn set_policy(&self, policy: Policy) {
        *lock(&self.shared.policy) = policy;
    }

    /// How many reads so far held more than one of MAIL, RCPT and DATA: a
    /// client that pipelines makes them, one that waits for each reply
    /// does not.
    pub fn pipelined_reads(&self) -> usize {
        self.shared.pipelined_reads.load(Ordering::SeqCst)
    }

    /// How many connections clients opened so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// The messages accepted so far, in the order their DATA ended.
    pub fn messages(&self) -> Vec<Received> {
        lock(&self.shared.messages).clone()
    }

    /// Blocks until at least `n` messages have been accepted and returns all
    /// of them; panics, saying what did arrive, if that takes longer than
    /// `timeout`. Blocking: in an async test whose sender runs on the same
    /// runtime thread, use [`SmtpSink::wait_for_async`].
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        let mut messages = lock(&self.shared.messages);
        while messages.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                panic!("{}", not_arrived(n, timeout, &messages));
            }
            messages = self
                .shared
                .arrived
                .wait_timeout(messages, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        messages.clone()
    }

    /// [`SmtpSink::wait_for`] for async tests: polls without blocking the
    /// runtime.
    pub async fn wait_for_async(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            if Instant::now() >= deadline {
                panic!("{}", not_arrived(n, timeout, &messages));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

fn not_arrived(n: usize, timeout: Duration, messages: &[Received]) -> String {
    let got: Vec<String> = messages
        .iter()
        .map(|m| format!("{} -> {:?}", m.mail_from, m.rcpt_to))
        .collect();
    format!(
        "expected {n} message(s) at the test SMTP server within {timeout:?}, got {}: {got:?}",
        messages.len()
    )
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the acceptor, blocked in accept(), so that it sees the flag.
        let _ = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        shared.connections.fetch_add(1, Ordering::SeqCst);
        let shared = Arc::clone(shared);
        let _ = thread::Builder::new()
            .name("smtp-sink-conn".to_owned())
            .spawn(move || {
                // An I/O error only means the client went away.
                let _ = serve_connection(stream, &shared);
            });
    }
}

/// What the handler asks the socket loop to do besides writing the reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signal {
    None,
    /// Close the connection without writing the reply.
    Drop,
    /// Write the reply, then start a fresh session: mailin stays in its DATA
    /// state after a refused end of DATA and would take the client's next
    /// commands for message text.
    Resync,
}

/// The client's byte stream: TCP, or TLS over it.
enum Conn {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ServerConnection, TcpStream>>),
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

impl Conn {
    fn shutdown(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.shutdown(Shutdown::Both),
            Conn::Tls(s) => {
                s.conn.send_close_notify();
                let _ = s.flush();
                s.sock.shutdown(Shutdown::Both)
            }
        }
    }
}

/// The server's side of a TLS handshake on `tcp` (whose reads time out
/// every [`POLL`], so the handshake is driven by hand).
fn tls_accept(tcp: TcpStream, config: &Arc<rustls::ServerConfig>, shared: &Shared) -> io::Result<Conn> {
    let mut server = rustls::ServerConnection::new(Arc::clone(config)).map_err(io::Error::other)?;
    let mut tcp = tcp;
    while server.is_handshaking() {
        if shared.stop.load(Ordering::SeqCst) {
            return Err(io::Error::other("stopped"));
        }
        match server.complete_io(&mut tcp) {
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            // The client refused the certificate, or hung up.
            Err(e) => return Err(e),
        }
    }
    Ok(Conn::Tls(Box::new(rustls::StreamOwned::new(server, tcp))))
}

/// One client's SMTP session, driven through mailin.
fn serve_connection(tcp: TcpStream, shared: &Arc<Shared>) -> io::Result<()> {
    tcp.set_read_timeout(Some(POLL))?;
    tcp.set_nodelay(true)?;
    let peer = tcp
        .peer_addr()
        .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |a| a.ip());
    let tls = shared.offer.tls.clone();
    let mut conn = match &tls {
        Some((TlsMode::Implicit, config)) => tls_accept(tcp, config, shared)?,
        _ => Conn::Plain(tcp),
    };
    let signal = Rc::new(Cell::new(Signal::None));
    let mut builder = SessionBuilder::new(SERVER_NAME);
    if matches!(tls, Some((TlsMode::StartTls, _))) {
        builder.enable_start_tls();
    }
    let new_handler = || SinkHandler {
        shared: Arc::clone(shared),
        signal: Rc::clone(&signal),
        mail_from: String::new(),
        rcpt_to: Vec::new(),
        data: Vec::new(),
        body_8bit: false,
    };
    let mut session = builder.build(peer, new_handler());
    send(&mut conn, &session.greeting())?;
    let mut pending: Vec<u8> = Vec::with_capacity(8192);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        if shared.stop.load(Ordering::SeqCst) {
            return conn.shutdown();
        }
        let n = match conn.read(&mut chunk) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            // The read timed out: bytes of a partial line stay in `pending`.
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) =>
            {
                continue;
            }
            Err(e) => return Err(e),
        };
        pending.extend_from_slice(&chunk[..n]);
        let mut commands = 0;
        let mut start = 0;
        while let Some(at) = pending[start..].iter().position(|&b| b == b'\n') {
            let line = &pending[start..=start + at];
            start += at + 1;
            if is_transaction_command(line) {
                commands += 1;
            }
            let is_ehlo = line.len() >= 4 && line[..4].eq_ignore_ascii_case(b"EHLO");
            let response = session.process(line);
            match signal.replace(Signal::None) {
                Signal::Drop => return conn.shutdown(),
                Signal::Resync if response.action != Action::Close => {
                    send(&mut conn, &response)?;
                    session = builder.build(peer, new_handler());
                    session.process(b"EHLO resync.sink.test\r\n");
                    continue;
                }
                Signal::Resync | Signal::None => {}
            }
            match response.action {
                Action::Reply if is_ehlo && response.code == 250 => {
                    conn.write_all(&ehlo_reply(&response, &shared.offer)?)?;
                }
                Action::Reply => send(&mut conn, &response)?,
                Action::NoReply => {}
                Action::UpgradeTls => {
                    send(&mut conn, &response)?;
                    if start < pending.len() {
                        // RFC 3207: nothing may follow STARTTLS before the
                        // handshake.
                        return conn.shutdown();
                    }
                    let Some((_, config)) = &tls else {
                        return conn.shutdown();
                    };
                    conn = match conn {
                        Conn::Plain(tcp) => tls_accept(tcp, config, shared)?,
                        tls @ Conn::Tls(_) => tls,
                    };
                    session.tls_active();
                }
                Action::Close => {
                    send(&mut conn, &response)?;
                    return conn.shutdown();
                }
            }
        }
        pending.drain(..start);
        if commands > 1 {
            shared.pipelined_reads.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// MAIL, RCPT or DATA (case-insensitive), the commands PIPELINING groups.
fn is_transaction_command(line: &[u8]) -> bool {
    let upper = line.to_ascii_uppercase();
    upper.starts_with(b"MAIL FROM:") || upper.starts_with(b"RCPT TO:") || upper == b"DATA\r\n"
}

/// mailin's EHLO reply with the server's name first and the offer applied:
/// PIPELINING added, 8BITMIME removed, as the test asked.
fn ehlo_reply(response: &Response, offer: &Offer) -> io::Result<Vec<u8>> {
    let text = String::from_utf8(response.buffer()?).map_err(io::Error::other)?;
    let mut lines: Vec<String> = text
        .lines()
        .skip(1)
        .map(|l| l.get(4..).unwrap_or("").to_owned())
        .collect();
    lines.retain(|l| offer.eight_bit_mime || !l.eq_ignore_ascii_case("8BITMIME"));
    if offer.pipelining {
        lines.insert(0, "PIPELINING".to_owned());
    }
    lines.insert(0, format!("{SERVER_NAME} at your service"));
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        let sep = if i + 1 == lines.len() { ' ' } else { '-' };
        out.push_str(&format!("250{sep}{line}\r\n"));
    }
    Ok(out.into_bytes())
}

/// Writes a reply in one piece (`write_to` makes several small writes, which
/// Nagle's algorithm and delayed ACKs turn into ~40 ms stalls).
fn send(conn: &mut Conn, response: &Response) -> io::Result<()> {
    conn.write_all(&response.buffer()?)?;
    conn.flush()
}

/// mailin's callbacks for one connection: keeps the current transaction and
/// asks the policy at RCPT and at the end of DATA.
struct SinkHandler {
    shared: Arc<Shared>,
    signal: Rc<Cell<Signal>>,
    mail_from: String,
    rcpt_to: Vec<String>,
    data: Vec<u8>,
    body_8bit: bool,
}

impl SinkHandler {
    fn refuse(&self, reply: Reply, resync: bool) -> Response {
        match reply {
            Reply::Drop => {
                self.signal.set(Signal::Drop);
                // Never written: the loop hangs up instead.
                mailin::response::OK
            }
            Reply::Code(code) => {
                if resync {
                    self.signal.set(Signal::Resync);
                }
                let text = match code {
                    421 => "Service not available, closing connection (test sink)",
                    400..=499 => "Temporary failure (test sink)",
                    _ => "Permanent failure (test sink)",
                };
                Response::custom(code, text.to_owned())
            }
            Reply::Text(code, text) => {
                if resync {
                    self.signal.set(Signal::Resync);
                }
                Response::custom(code, text.to_owned())
            }
        }
    }
}

impl Handler for SinkHandler {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, from: &str) -> Response {
        let reply = lock(&self.shared.policy).fire(Stage::Mail, &[from.to_owned()]);
        if let Some(reply) = reply {
            return self.refuse(reply, false);
        }
        self.mail_from = from.to_owned();
        self.rcpt_to.clear();
        self.data.clear();
        mailin::response::OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        let to = to.to_owned();
        let reply = lock(&self.shared.policy).fire(Stage::Rcpt, std::slice::from_ref(&to));
        match reply {
            Some(reply) => self.refuse(reply, false),
            None => {
                self.rcpt_to.push(to);
                mailin::response::OK
            }
        }
    }

    fn data_start(&mut self, _domain: &str, _from: &str, is8bit: bool, _to: &[String]) -> Response {
        self.data.clear();
        self.body_8bit = is8bit;
        mailin::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let delay = lock(&self.shared.policy).delay;
        if !delay.is_zero() {
            // This connection's own thread: other connections go on.
            thread::sleep(delay);
        }
        let reply = lock(&self.shared.policy).fire(Stage::Data, &self.rcpt_to);
        if let Some(reply) = reply {
            return self.refuse(reply, true);
        }
        let message = Received {
            mail_from: std::mem::take(&mut self.mail_from),
            rcpt_to: std::mem::take(&mut self.rcpt_to),
            data: std::mem::take(&mut self.data),
            body_8bit: self.body_8bit,
        };
        lock(&self.shared.messages).push(message);
        self.shared.arrived.notify_all();
        mailin::response::OK
    }
}

//! One mail transaction on an open connection: MAIL, RCPT, DATA and the
//! message. With PIPELINING (RFC 2920) the three commands go out in one
//! write and their replies are read in order, then the message is written
//! in one go; without it, command by command. Either way each refusal is
//! classified by the command it answers, so a refused recipient is the
//! recipient's whatever DATA was answered after it; after a refusal the
//! transaction is reset (RSET) and the connection kept when it is sound.
//!
//! A transaction can be made in two steps: [`begin`] writes everything but
//! the terminating `.` line and [`end`] writes that and reads the relay's
//! verdict. Nothing is delivered before the terminator, so a sender can
//! move the whole message while it waits for something else (the ledger's
//! record of the previous message) and still deliver nothing more than it
//! would have one step at a time.

use std::io;

use super::super::classify::{Stage, classify};
use super::super::{Email, SendError};
use super::conn::{Conn, Offers, Reply};

/// The terminating line of DATA (the stuffed message ends in CRLF before
/// it).
const TERMINATOR: &[u8] = b".\r\n";

/// MAIL, RCPT and DATA, then the message without its terminating line: the
/// relay holds it, undelivered, until [`end`].
pub(super) async fn begin(conn: &mut Conn, offers: &Offers, email: &Email) -> Result<(), SendError> {
    let mail = mail_command(offers, email)?;
    let recipients: Vec<String> = email
        .envelope
        .to()
        .iter()
        .map(|to| format!("RCPT TO:<{}>", AsRef::<str>::as_ref(to)))
        .collect();
    let result = if offers.pipelining {
        pipelined(conn, &mail, &recipients).await
    } else {
        step_by_step(conn, &mail, &recipients).await
    };
    match result {
        Ok(()) => {}
        Err(Failed::Refused(e)) => {
            reset(conn).await;
            return Err(e);
        }
        Err(Failed::Io(stage, e)) => return Err(lost(stage, &e)),
    }
    let body = email.wire.strip_suffix(TERMINATOR).unwrap_or(&email.wire);
    conn.write(body).await.map_err(|e| lost(Stage::EndOfData, &e))
}

/// The terminating line of a transaction [`begin`] left open, and the
/// relay's verdict on the message.
pub(super) async fn end(conn: &mut Conn) -> Result<(), SendError> {
    conn.write(TERMINATOR)
        .await
        .map_err(|e| lost(Stage::EndOfData, &e))?;
    let reply = conn.reply().await.map_err(|e| lost(Stage::EndOfData, &e))?;
    if reply.code == 250 {
        return Ok(());
    }
    let e = classify(Stage::EndOfData, &reply);
    reset(conn).await;
    Err(e)
}

/// Why the commands before the message failed.
enum Failed {
    /// The relay answered with a refusal.
    Refused(SendError),
    /// The connection failed at this stage.
    Io(Stage, io::Error),
}

/// MAIL, every RCPT and DATA in one write, then their replies in order. The
/// first refusal decides: a refused MAIL makes the RCPTs and DATA fail too
/// (503), and a refused recipient makes DATA fail (503 or 554 "no valid
/// recipients"), which is then not a fault of DATA.
async fn pipelined(conn: &mut Conn, mail: &str, recipients: &[String]) -> Result<(), Failed> {
    let mut batch = String::with_capacity(mail.len() + 64 * recipients.len() + 8);
    batch.push_str(mail);
    batch.push_str("\r\n");
    for rcpt in recipients {
        batch.push_str(rcpt);
        batch.push_str("\r\n");
    }
    batch.push_str("DATA\r\n");
    conn.write(batch.as_bytes())
        .await
        .map_err(|e| Failed::Io(Stage::MailFrom, e))?;
    let mut refusal = None;
    let stages = std::iter::once(Stage::MailFrom)
        .chain(recipients.iter().map(|_| Stage::Rcpt))
        .chain(std::iter::once(Stage::Data));
    for stage in stages {
        let reply = match conn.reply().await {
            Ok(reply) => reply,
            // A refusal already read says more than the hang-up after it
            // (a 421 closes the connection).
            Err(_) if refusal.is_some() => break,
            Err(e) => return Err(Failed::Io(stage, e)),
        };
        let accepted = match stage {
            Stage::Data => reply.code == 354,
            _ => reply.code == 250 || reply.code == 251,
        };
        if stage == Stage::Data && accepted && refusal.is_some() {
            // Some recipient was refused but another accepted, so the relay
            // waits for the message: hanging up makes it drop the
            // transaction, where an empty message would be delivered.
            conn.broken = true;
        }
        if !accepted && refusal.is_none() {
            refusal = Some(classify(stage, &reply));
        }
    }
    match refusal {
        Some(e) => Err(Failed::Refused(e)),
        None => Ok(()),
    }
}

/// MAIL, each RCPT, DATA, each waiting for its reply.
async fn step_by_step(conn: &mut Conn, mail: &str, recipients: &[String]) -> Result<(), Failed> {
    let step = async |conn: &mut Conn, stage: Stage, line: &str, ok: &[u16]| {
        let reply: Reply = conn.command(line).await.map_err(|e| Failed::Io(stage, e))?;
        if ok.contains(&reply.code) {
            Ok(())
        } else {
            Err(Failed::Refused(classify(stage, &reply)))
        }
    };
    step(conn, Stage::MailFrom, mail, &[250]).await?;
    for rcpt in recipients {
        step(conn, Stage::Rcpt, rcpt, &[250, 251]).await?;
    }
    step(conn, Stage::Data, "DATA", &[354]).await
}

/// `MAIL FROM:<…>` with BODY=8BITMIME when the message has 8-bit bytes,
/// SMTPUTF8 when an address is not ASCII, and SIZE when the relay takes it;
/// or the reason it cannot be sent on this relay.
fn mail_command(offers: &Offers, email: &Email) -> Result<String, SendError> {
    let from = email.envelope.from().map_or("", AsRef::<str>::as_ref);
    let mut mail = format!("MAIL FROM:<{from}>");
    if email.eight_bit {
        if !offers.eight_bit_mime {
            // Composition makes every message 7-bit, so this means a
            // message was built some other way.
            return Err(SendError::Setup {
                setting: "mail.smtp_url (use a relay that offers 8BITMIME)",
                message: "the message has 8-bit bytes and the relay does not offer 8BITMIME".to_owned(),
            });
        }
        mail.push_str(" BODY=8BITMIME");
    }
    let non_ascii = |a: &lettre::Address| !AsRef::<str>::as_ref(a).is_ascii();
    if email.envelope.from().is_some_and(non_ascii) || email.envelope.to().iter().any(non_ascii) {
        if !offers.smtputf8 {
            // The address, not the setup: other recipients still go.
            return Err(SendError::Transient {
                throttle: false,
                message: "the address is not ASCII and the relay does not offer SMTPUTF8".to_owned(),
            });
        }
        mail.push_str(" SMTPUTF8");
    }
    if let Some(limit) = offers.size {
        // The size of the message as the relay counts it, near enough: the
        // stuffed form less the terminating dot.
        let size = email.wire.len().saturating_sub(3) as u64;
        if limit > 0 && size > limit {
            return Err(SendError::Setup {
                setting: "digest.max_html_bytes and the relay's message size limit",
                message: format!("the message is {size} bytes and the relay takes at most {limit} (SIZE)"),
            });
        }
        mail.push_str(&format!(" SIZE={size}"));
    }
    Ok(mail)
}

/// RSET after a refusal, so the connection serves the next message; if
/// that fails too the connection is dropped.
async fn reset(conn: &mut Conn) {
    if conn.broken {
        return;
    }
    match conn.command("RSET").await {
        Ok(reply) if reply.code == 250 => {}
        _ => conn.broken = true,
    }
}

/// The connection failed during the transaction: worth a retry.
fn lost(stage: Stage, e: &io::Error) -> SendError {
    SendError::Transient {
        throttle: false,
        message: format!("the connection failed at {}: {e}", stage.describe()),
    }
}

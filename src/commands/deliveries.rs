//! `herald deliveries …`: the delivery ledger seen from the command line:
//! list deliveries (by edition and status) and queue an edition's failed
//! deliveries again. The ledger and its rules are the store's; nothing is
//! sent here (the next `send` delivers what was queued).

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use super::output::{JsonArray, print_table, table};
use crate::cli::{DeliveriesCommand, TableOrJson};
use crate::domain::text::cut;
use crate::domain::{DeliveryStatus, Edition};
use crate::store::{DeliveryRow, Store};

pub async fn run(store: &Store, cmd: DeliveriesCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        DeliveriesCommand::List {
            edition,
            status,
            limit,
            format,
        } => list(store, edition.as_ref(), status, limit, format).await,
        DeliveriesCommand::Retry { edition } => retry(store, &edition).await,
    }
}

async fn list(
    store: &Store,
    edition: Option<&Edition>,
    status: Option<DeliveryStatus>,
    limit: u32,
    format: TableOrJson,
) -> anyhow::Result<ExitCode> {
    let rows = store.list_deliveries(edition, status, limit.into()).await?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    match format {
        TableOrJson::Json => {
            let mut arr = JsonArray::new(&mut out)?;
            for r in &rows {
                arr.push(r)?;
            }
            arr.finish()?;
        }
        TableOrJson::Table => print_table(&mut out, &deliveries_table(&rows))?,
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn deliveries_table(rows: &[DeliveryRow]) -> comfy_table::Table {
    let mut t = table(&["edition", "email", "status", "attempts", "sent_at", "error"]);
    for r in rows {
        t.add_row(vec![
            r.edition.clone(),
            r.email.clone(),
            r.status.clone(),
            r.attempts.to_string(),
            r.sent_at.map_or_else(|| "-".into(), |t| t.to_rfc3339()),
            cut(r.last_error.as_deref().unwrap_or(""), 60),
        ]);
    }
    t
}

async fn retry(store: &Store, edition: &Edition) -> anyhow::Result<ExitCode> {
    let n = store.retry_failed(edition).await?;
    println!("{edition}: {n} failed deliveries queued again; the next send delivers them");
    Ok(ExitCode::SUCCESS)
}

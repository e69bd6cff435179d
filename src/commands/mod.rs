//! One thin async function per admin command: load what it needs (config,
//! store), call the library, print the result. Output for people goes to
//! stdout as aligned tables, for scripts as CSV or JSON; diagnostics go to
//! stderr. Business rules live in the library modules, not here.

mod demo;
mod feeds;
mod ingest;
mod output;
mod send;
mod stories;
mod subscribers;

use std::process::ExitCode;

use anyhow::Context;

use crate::cli::{Cli, Command, ConfigCommand};
use crate::config::{Config, Overrides};
use crate::store::Store;

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let overrides = Overrides {
        config_path: cli.config.clone(),
        database_url: cli.database_url.clone(),
    };
    match cli.command {
        Command::Demo(args) => demo::run(&overrides, args).await,
        Command::Config(ConfigCommand::Check) => {
            let config = Config::load(&overrides)?;
            match &config.source_file {
                Some(path) => println!(
                    "# configuration OK: defaults + {} + environment + flags\n",
                    path.display()
                ),
                None => println!("# configuration OK: defaults + environment + flags\n"),
            }
            print!("{}", config.to_redacted_toml());
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let config = Config::load(&overrides)?;
            let store = Store::connect(&config.database).await?;
            let applied = store.migrate().await?;
            println!("applied {applied} migration(s) to {}", config.database.url);
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Run => {
            let (config, store) = open(&overrides).await?;
            let engine = crate::deliver::Engine::new(&config, store.clone())?;
            crate::daemon::run(config, store.clone(), engine).await?;
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Send(args) => {
            let (config, store) = open(&overrides).await?;
            let code = send::send(&config, store.clone(), args).await;
            store.close().await;
            code
        }
        Command::Preview(args) => {
            let (config, store) = open(&overrides).await?;
            let code = send::preview(&config, store.clone(), args).await;
            store.close().await;
            code
        }
        Command::UnsubscribeMail { file } => {
            let (_config, store) = open(&overrides).await?;
            let code = unsubscribe_mail(&store, &file).await;
            store.close().await;
            code
        }
        Command::Deliveries(cmd) => {
            let (_config, store) = open(&overrides).await?;
            let code = deliveries(&store, cmd).await;
            store.close().await;
            code
        }
        Command::Subscribers(cmd) => {
            let (config, store) = open(&overrides).await?;
            let code = subscribers::run(&config, &store, cmd).await;
            store.close().await;
            code
        }
        Command::Stories(cmd) => {
            let (_config, store) = open(&overrides).await?;
            let code = stories::run(&store, cmd).await;
            store.close().await;
            code
        }
        Command::Feeds(cmd) => {
            let (config, store) = open(&overrides).await?;
            let code = feeds::run(&config, &store, cmd).await;
            store.close().await;
            code
        }
    }
}

/// Loads the configuration and opens the migrated store.
async fn open(overrides: &Overrides) -> anyhow::Result<(Config, Store)> {
    let config = Config::load(overrides)?;
    let store = Store::open(&config.database)
        .await
        .with_context(|| format!("opening the store at {}", config.database.url))?;
    Ok((config, store))
}

async fn deliveries(store: &Store, cmd: crate::cli::DeliveriesCommand) -> anyhow::Result<ExitCode> {
    use crate::cli::{DeliveriesCommand, TableOrJson};
    match cmd {
        DeliveriesCommand::List {
            edition,
            status,
            limit,
            format,
        } => {
            let rows = store
                .list_deliveries(edition.as_ref(), status, limit.into())
                .await?;
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            match format {
                TableOrJson::Json => {
                    let mut arr = output::JsonArray::new(&mut out)?;
                    for r in &rows {
                        arr.push(r)?;
                    }
                    arr.finish()?;
                }
                TableOrJson::Table => {
                    let mut t =
                        output::table(&["edition", "email", "status", "attempts", "sent_at", "error"]);
                    for r in &rows {
                        t.add_row(vec![
                            r.edition.clone(),
                            r.email.clone(),
                            r.status.clone(),
                            r.attempts.to_string(),
                            r.sent_at.map_or_else(|| "-".into(), |t| t.to_rfc3339()),
                            crate::domain::text::cut(r.last_error.as_deref().unwrap_or(""), 60),
                        ]);
                    }
                    output::print_table(&mut out, &t)?;
                }
            }
            std::io::Write::flush(&mut out)?;
            Ok(ExitCode::SUCCESS)
        }
        DeliveriesCommand::Retry { edition } => {
            let n = store.retry_failed(&edition).await?;
            println!("{edition}: {n} failed deliveries queued again; the next send delivers them");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Reads a message sent to the List-Unsubscribe mailto: address and
/// unsubscribes the subscriber whose token it carries (in the subject, as
/// the mailto: link sets it, or in the body).
async fn unsubscribe_mail(store: &Store, file: &std::path::Path) -> anyhow::Result<ExitCode> {
    use std::io::Read;
    let mut raw = Vec::new();
    if file.as_os_str() == "-" {
        std::io::stdin()
            .read_to_end(&mut raw)
            .context("reading the message from stdin")?;
    } else {
        raw = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    }
    let message = mail_parser::MessageParser::default()
        .parse(&raw)
        .context("the input is not an email message")?;
    let mut texts = vec![message.subject().unwrap_or("").to_owned()];
    if let Some(body) = message.body_text(0) {
        texts.push(body.into_owned());
    }
    let token = texts
        .iter()
        .flat_map(|t| t.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')))
        .find_map(|word| crate::domain::Token::parse(word).ok())
        .context("no unsubscribe token in the message's subject or body")?;
    let subscriber = store
        .find_by_token(&token)
        .await?
        .context("the token in the message matches no subscriber")?;
    store
        .set_status(subscriber.id, crate::domain::SubscriberStatus::Unsubscribed)
        .await?;
    tracing::info!(subscriber_id = subscriber.id, "unsubscribed by mail");
    println!("unsubscribed {}", subscriber.email);
    Ok(ExitCode::SUCCESS)
}

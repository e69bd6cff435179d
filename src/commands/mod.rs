//! One thin async function per admin command: load what it needs (config,
//! store), call the library, print the result. Output for people goes to
//! stdout as aligned tables, for scripts as CSV or JSON; diagnostics go to
//! stderr. Business rules live in the library modules, not here.

mod bounces;
mod deliveries;
mod demo;
mod editions;
mod feeds;
mod form;
mod generate;
mod ingest;
mod init;
mod locales;
mod output;
mod send;
mod stories;
mod subscribers;

use std::process::ExitCode;

use anyhow::Context;

use crate::cli::{BouncesCommand, Cli, Command, ConfigCommand, LocalesCommand};
use crate::config::{Config, Overrides};
use crate::store::Store;

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let overrides = Overrides {
        config_path: cli.config.clone(),
        database_url: cli.database_url.clone(),
        metrics_file: cli.metrics_file.clone(),
    };
    let o = &overrides;
    match cli.command {
        Command::Demo(args) => demo::run(o, args).await,
        Command::Config(ConfigCommand::Check { connect }) => config_check(o, connect).await,
        Command::Migrate => migrate(o).await,
        Command::Init(args) => init::run(o, args).await,
        Command::Generate { what, dir } => generate::run(what, &dir),
        Command::Form(args) => form::run(o, args).await,
        Command::Locales(LocalesCommand::Check { dir, templates }) => {
            locales::check(o, dir.as_deref(), templates)
        }
        Command::Run => daemon(o).await,
        Command::Send(args) => with_store(o, async |c, store| send::send(c, store.clone(), args).await).await,
        Command::Preview(args) => {
            with_store(o, async |c, store| send::preview(c, store.clone(), args).await).await
        }
        Command::UnsubscribeMail { file } => {
            with_store(o, async |c, store| unsubscribe_mail(c, store, &file).await).await
        }
        Command::Deliveries(cmd) => with_store(o, async |_, store| deliveries::run(store, cmd).await).await,
        Command::Bounces(BouncesCommand::Inspect { paths, format }) => bounces::inspect(&paths, format),
        Command::Bounces(cmd) if bounces::reads_stdin(&cmd) => {
            let result = with_store(o, async |c, store| bounces::run(c, store, cmd).await).await;
            Ok(bounces::tempfail_on_error(result))
        }
        Command::Bounces(cmd) => with_store(o, async |c, store| bounces::run(c, store, cmd).await).await,
        Command::Editions(cmd) => with_store(o, async |c, store| editions::run(c, store, cmd).await).await,
        Command::Subscribers(cmd) => {
            with_store(o, async |c, store| subscribers::run(c, store, cmd).await).await
        }
        Command::Stories(cmd) => with_store(o, async |_, store| stories::run(store, cmd).await).await,
        Command::Feeds(cmd) => with_store(o, async |c, store| feeds::run(c, store, cmd).await).await,
    }
}

/// Loads the configuration and opens the migrated store, which must exist:
/// only `migrate`, `init` and `demo` create one, so a command run from the
/// wrong directory says so instead of working on a new, empty store.
async fn open(overrides: &Overrides) -> anyhow::Result<(Config, Store)> {
    let config = Config::load(overrides)?;
    if let Some(path) = Store::missing_file(&config.database) {
        return Err(no_store(&config, &path).into());
    }
    let store = Store::open(&config.database)
        .await
        .with_context(|| format!("opening the store at {}", config.database.url))?;
    Ok((config, store))
}

/// Runs `command` with the configuration and the migrated store, and closes
/// the store afterwards whether the command succeeded or not; then writes
/// its metrics to `--metrics-file`, if given.
async fn with_store(
    overrides: &Overrides,
    command: impl AsyncFnOnce(&Config, &Store) -> anyhow::Result<ExitCode>,
) -> anyhow::Result<ExitCode> {
    let (config, store) = open(overrides).await?;
    let code = command(&config, &store).await;
    store.close().await;
    if let Some(path) = &overrides.metrics_file {
        crate::metrics::write_textfile(path, &config.metrics)?;
    }
    code
}

/// The error for a SQLite store that is not there: where Herald looked
/// (the file, the configuration that named it) and how to create one.
fn no_store(config: &Config, path: &std::path::Path) -> crate::config::ConfigError {
    let from = match &config.source_file {
        Some(file) => format!("configuration file {} ({})", file.path.display(), file.origin),
        None => format!(
            "no configuration file (looked for {}), so the built-in default",
            crate::config::SEARCH_ORDER
        ),
    };
    crate::config::ConfigError(format!(
        "no store at {}: database.url is {} ({from}, or HERALD_DATABASE__URL, or --database-url); \
         create it with `herald migrate`, start a new install with `herald init`, or point database.url at an existing store",
        path.display(),
        config.database.url,
    ))
}

/// `config check`: the merged configuration, secrets redacted, after a line
/// naming the layers it came from. Loading is the check: a bad value fails
/// before anything is printed. With `--connect`, then the relay.
async fn config_check(overrides: &Overrides, connect: bool) -> anyhow::Result<ExitCode> {
    let config = Config::load(overrides)?;
    match &config.source_file {
        Some(file) => println!(
            "# configuration OK: defaults + {} + environment + flags\n# read {} ({})",
            file.path.display(),
            file.path.display(),
            file.origin
        ),
        None => println!(
            "# configuration OK: defaults + environment + flags\n# no configuration file: looked for {}",
            crate::config::SEARCH_ORDER
        ),
    }
    match Store::missing_file(&config.database) {
        Some(path) => println!(
            "# store: {} does not exist yet (`herald migrate` creates it)\n",
            path.display()
        ),
        None => println!("# store: {}\n", config.database.url),
    }
    print!("{}", config.to_redacted_toml());
    if connect {
        connect_check(&config).await?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `config check --connect`: a session with the relay as a run would open
/// it (EHLO, STARTTLS, AUTH), what it offers, then QUIT. Sends no mail.
async fn connect_check(config: &Config) -> anyhow::Result<()> {
    let url = &config.mail.smtp_url;
    let mailer = crate::mail::Mailer::smtp(&config.mail, &config.delivery);
    let probe = mailer
        .probe()
        .await
        .expect("an SMTP mailer")
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("config check --connect: {url}"))?;
    let yes = |b: bool| if b { "yes" } else { "no" };
    let o = &probe.offers;
    println!("\n# relay {} ({url})", probe.relay);
    if config.mail.transport == crate::config::Transport::File {
        println!("# note: mail.transport is \"file\": digests go to the outbox, not to this relay");
    }
    println!("greeting:    {}", probe.greeting);
    println!("EHLO name:   {}", o.name);
    println!("STARTTLS:    {}", yes(probe.starttls));
    match &probe.tls {
        Some(tls) => {
            println!("TLS:         {} {}", tls.version, tls.cipher);
            println!("certificate: {}", tls.verification);
        }
        None => println!("TLS:         none (plain text)"),
    }
    println!("PIPELINING:  {}", yes(o.pipelining));
    println!("8BITMIME:    {}", yes(o.eight_bit_mime));
    println!("SMTPUTF8:    {}", yes(o.smtputf8));
    match o.size {
        None => println!("SIZE:        not offered"),
        Some(0) => println!("SIZE:        no fixed limit"),
        Some(n) => println!("SIZE:        {n} bytes"),
    }
    let mechanisms = if o.auth.is_empty() {
        "none".to_owned()
    } else {
        o.auth.join(" ")
    };
    match probe.authenticated {
        Some(m) => println!("AUTH:        {mechanisms} (logged in with {m})"),
        None => println!("AUTH:        {mechanisms} (no user in mail.smtp_url: not tried)"),
    }
    println!("# connection OK; QUIT sent, no mail sent");
    Ok(())
}

async fn migrate(overrides: &Overrides) -> anyhow::Result<ExitCode> {
    let config = Config::load(overrides)?;
    let store = Store::connect(&config.database).await?;
    let applied = store.migrate().await?;
    println!("applied {applied} migration(s) to {}", config.database.url);
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// `herald run`: the daemon, until SIGTERM or Ctrl-C.
async fn daemon(overrides: &Overrides) -> anyhow::Result<ExitCode> {
    let (config, store) = open(overrides).await?;
    let engine = crate::deliver::Engine::new(&config, store.clone())?;
    crate::daemon::run(config, store.clone(), engine).await?;
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// Reads a message sent to the List-Unsubscribe mailto: address and
/// unsubscribes the subscriber whose token it carries (in the subject, as
/// the mailto: link sets it, or in the body).
async fn unsubscribe_mail(
    config: &Config,
    store: &Store,
    file: &std::path::Path,
) -> anyhow::Result<ExitCode> {
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
    config.metrics.unsubscribe(crate::metrics::Unsubscribe::Mailto);
    println!("unsubscribed {}", subscriber.email);
    Ok(ExitCode::SUCCESS)
}

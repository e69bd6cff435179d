//! The command tree, as clap parses it. Values that clap can validate on its
//! own (addresses, time zones, hours, enums) are parsed here into domain
//! types, so a bad argument is a usage error (exit status 2) with clap's
//! message. This module holds no behaviour; `commands` does the work.

use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::domain::{
    Category, DeliveryStatus, Edition, Frequency, HeaderSafe, HttpUrl, Locale, SendHour, StoryKind,
    SubscriberEmail, SubscriberStatus, TimeZone, Topics,
};
use crate::import::StoryFormat;

/// Herald: the machine behind "get top stories emailed to you each day".
///
/// Herald keeps stories and subscribers in SQLite or PostgreSQL and sends each
/// subscriber a digest of the top stories at their own hour in their own time
/// zone. This binary is both the daemon and the admin tool.
#[derive(Debug, Parser)]
#[command(name = "herald", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// Configuration file layered over the built-in defaults [default:
    /// $HERALD_CONFIG, else the first of ./config/herald.toml and
    /// /etc/herald/herald.toml that exists]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Database URL, overriding database.url (sqlite://PATH or postgres://…)
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,

    /// After the command, write its metrics here in the node_exporter textfile
    /// format (for cron and timer runs; counters add up across runs)
    #[arg(long, global = true, value_name = "PATH")]
    pub metrics_file: Option<PathBuf>,

    /// Log format on stderr; the level comes from RUST_LOG (default: info)
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses the process's arguments; `--version` gives the long form of
    /// [`version_text`].
    pub fn parse_args() -> Cli {
        use clap::{CommandFactory, FromArgMatches};
        // Leaked once: clap keeps a &'static str without its "string" feature.
        let long: &'static str = Box::leak(version_text().into_boxed_str());
        let matches = Cli::command().long_version(long).get_matches();
        Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
    }
}

/// What `herald --version` prints after the name: the version, the commit
/// and date of the build, the time-zone database compiled in, and what
/// this build can talk to.
pub fn version_text() -> String {
    format!(
        "{}\ncommit:   {}\nbuilt:    {}\ntzdata:   {} (IANA, compiled in by chrono-tz)\nstores:   sqlite, postgres\nmail:     smtp (STARTTLS, implicit TLS), file outbox\nbounces:  mail, imap, webhooks (ses, sendgrid, mailgun, postmark)",
        env!("CARGO_PKG_VERSION"),
        env!("HERALD_GIT_COMMIT"),
        env!("HERALD_BUILD_DATE"),
        chrono_tz::IANA_TZDB_VERSION,
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one daily edition on bundled sample data into ./herald-demo (no setup needed)
    Demo(DemoArgs),
    /// Run the daemon: send each digest at the subscriber's local hour, serve unsubscribe, health and metrics
    Run,
    /// Send an edition of the digest to every active subscriber not yet served
    Send(SendArgs),
    /// Show the digest one subscriber would get, sending and recording nothing
    Preview(PreviewArgs),
    /// Manage subscribers: add, remove, list, import, export
    #[command(subcommand)]
    Subscribers(SubscribersCommand),
    /// Manage stories: import and list
    #[command(subcommand)]
    Stories(StoriesCommand),
    /// Manage the RSS, Atom and JSON feeds Herald pulls stories from
    #[command(subcommand)]
    Feeds(FeedsCommand),
    /// Honour a mailed unsubscribe request (List-Unsubscribe mailto:): read one message, unsubscribe its sender's token
    UnsubscribeMail {
        /// The received message (RFC 5322), or - for standard input
        file: PathBuf,
    },
    /// Inspect and repair the delivery ledger
    #[command(subcommand)]
    Deliveries(DeliveriesCommand),
    /// Bounces and complaints: read them from mail, see what Herald makes of them, list what was recorded
    #[command(subcommand)]
    Bounces(BouncesCommand),
    /// Editions: counts and rates by category and domain; resume one the guard paused; prune old ledger rows
    #[command(subcommand)]
    Editions(EditionsCommand),
    /// Inspect the configuration
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Create the store if missing and apply pending migrations (every command also migrates on start)
    Migrate,
    /// The message catalogs (locales/): check them against each other and the templates
    #[command(subcommand)]
    Locales(LocalesCommand),
    /// Print the signup box: an HTML form posting to site.public_url/subscribe, to paste into the site's pages
    Form(FormArgs),
    /// First install: write a commented config to DIR/config/herald.toml and create its store
    Init(InitArgs),
    /// Write the man pages or shell completions into a folder (for packages)
    #[command(hide = true)]
    Generate {
        /// What to write
        #[arg(value_enum)]
        what: Generated,
        /// The folder, created if missing
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Generated {
    /// herald.1 and one page per subcommand (herald-send.1, …)
    Man,
    /// herald.bash, _herald (zsh), herald.fish
    Completions,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Folder to set up; run herald from here afterwards
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct FormArgs {
    /// Offer the site's sections as checkboxes (the sections of the stored stories, most used first)
    #[arg(long)]
    pub topics: bool,
    /// Offer these sections instead of the stored ones (implies --topics)
    #[arg(long, value_name = "LIST", value_parser = parse_topics)]
    pub sections: Option<Topics>,
    /// Let the reader choose a daily or a weekly digest
    #[arg(long)]
    pub frequency: bool,
    /// Write the box in this language (a BCP 47 tag: en, ar, fr) and sign its readers up in it [default: site.locale, and the reader's browser language]
    #[arg(long, value_parser = parse_locale, value_name = "TAG")]
    pub locale: Option<Locale>,
}

#[derive(Debug, Subcommand)]
pub enum LocalesCommand {
    /// Report keys a catalog lacks, keys nothing uses, and variables the reference catalog does not pass
    ///
    /// Checks the catalogs compiled into Herald, or a folder of the same
    /// layout (one subfolder per tag, e.g. en/digest.ftl), against the keys
    /// Herald uses and the t(key="...") calls of the templates (the built-in
    /// ones, or digest.templates_dir). Exit status 1 when anything is found.
    Check {
        /// A catalog folder to check instead of the built-in catalogs
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// A templates folder to scan instead of digest.templates_dir (or the built-in templates)
        #[arg(long, value_name = "DIR")]
        templates: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// Which subscribers: those on this frequency [default: daily]
    #[arg(long, value_parser = frequency())]
    pub frequency: Option<Frequency>,
    /// The edition's date [default: today, UTC]
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: Option<chrono::NaiveDate>,
    /// Do exactly one daemon tick: send every subscriber whose local send hour has come (for cron)
    #[arg(long, conflicts_with_all = ["frequency", "date", "dry_run", "test_to"])]
    pub due: bool,
    /// Select and render every digest and count them, sending and recording nothing
    #[arg(long, conflicts_with = "test_to")]
    pub dry_run: bool,
    /// Send one subscriber's digest to this address instead, with "[TEST]" in the subject; records nothing
    #[arg(long, value_name = "ADDRESS", requires = "as_subscriber", value_parser = parse_email)]
    pub test_to: Option<SubscriberEmail>,
    /// The subscriber whose digest --test-to sends
    #[arg(long = "as", value_name = "EMAIL", requires = "test_to", value_parser = parse_email)]
    pub as_subscriber: Option<SubscriberEmail>,
    /// Pretend the current time is this instant (RFC 3339), for tests and replays
    #[arg(long, hide = true, value_parser = parse_timestamp)]
    pub now: Option<chrono::DateTime<chrono::Utc>>,
    /// The summary as text for people or one JSON object for scripts (see the README)
    #[arg(long, value_enum, default_value_t = ShowFormat::Text)]
    pub format: ShowFormat,
}

#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// The subscriber's email address
    #[arg(value_parser = parse_email)]
    pub email: SubscriberEmail,
    /// The edition's date [default: today, UTC]
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: Option<chrono::NaiveDate>,
    /// What to print: the HTML part, the text part, or the whole message
    #[arg(long, value_enum, default_value_t = PreviewFormat::Text)]
    pub format: PreviewFormat,
    /// Write to this file instead of standard output
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// List every candidate story with its score and why it was picked or left out
    #[arg(long)]
    pub explain: bool,
    /// Pretend the current time is this instant (RFC 3339)
    #[arg(long, hide = true, value_parser = parse_timestamp)]
    pub now: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PreviewFormat {
    Html,
    Text,
    Eml,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Directory for the demo's database and output
    #[arg(long, default_value = "herald-demo", value_name = "DIR")]
    pub dir: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum DeliveriesCommand {
    /// List delivery rows, newest edition first
    List {
        /// Only this edition, e.g. daily-2026-03-10
        #[arg(long, value_name = "EDITION")]
        edition: Option<Edition>,
        /// Only rows in this state
        #[arg(long, value_parser = delivery_status())]
        status: Option<DeliveryStatus>,
        /// At most this many rows
        #[arg(long, default_value_t = 1000)]
        limit: u32,
        /// Output format
        #[arg(long, value_enum, default_value_t = TableOrJson::Table)]
        format: TableOrJson,
    },
    /// Put an edition's failed rows back in the queue for the next send
    Retry {
        /// The edition, e.g. daily-2026-03-10
        #[arg(long, value_name = "EDITION")]
        edition: Edition,
    },
}

#[derive(Debug, Subcommand)]
pub enum BouncesCommand {
    /// Read bounce and complaint messages and act on them: one message on standard input (-, for a
    /// Postfix pipe transport), a file, or every message in a directory or a Maildir (new/ and cur/)
    Ingest {
        /// Files, directories or Maildirs; - reads one message from standard input
        #[arg(required = true, value_name = "FILE|DIR|-")]
        paths: Vec<PathBuf>,
        /// The address the message was delivered to (e.g. Postfix's ${original_recipient}), tried
        /// first as the VERP return path
        #[arg(long, value_name = "ADDRESS")]
        recipient: Option<String>,
        /// Delete a Maildir's messages once processed instead of moving them to cur/ flagged seen
        #[arg(long)]
        remove: bool,
        /// Output format of the summary
        #[arg(long, value_enum, default_value_t = ShowFormat::Text)]
        format: ShowFormat,
    },
    /// Show what Herald makes of messages, changing nothing
    Inspect {
        /// Files, directories or Maildirs; - reads one message from standard input
        #[arg(required = true, value_name = "FILE|DIR|-")]
        paths: Vec<PathBuf>,
        /// text for people; json prints JSON Lines, one object per report and recipient
        #[arg(long, value_enum, default_value_t = ShowFormat::Text)]
        format: ShowFormat,
    },
    /// List recorded bounces and complaints, newest first
    List {
        /// Only events received since this instant (RFC 3339) or this long ago (e.g. 24h, 7d)
        #[arg(long, value_name = "WHEN", value_parser = parse_since)]
        since: Option<chrono::DateTime<chrono::Utc>>,
        /// Only this category
        #[arg(long, value_parser = bounce_category())]
        category: Option<Category>,
        /// At most this many events
        #[arg(long, default_value_t = 1000)]
        limit: u32,
        /// Output format
        #[arg(long, value_enum, default_value_t = TableOrJson::Table)]
        format: TableOrJson,
    },
}

#[derive(Debug, Subcommand)]
pub enum EditionsCommand {
    /// An edition's deliveries, bounces and complaints, with rates, by category and by recipient domain
    Show {
        /// The edition, e.g. daily-2026-03-10
        edition: Edition,
        /// Output format
        #[arg(long, value_enum, default_value_t = ShowFormat::Text)]
        format: ShowFormat,
    },
    /// Lift the guard's pause of an edition (every pause, or one domain's); the next send goes on
    Resume {
        /// The edition, e.g. daily-2026-03-10
        edition: Edition,
        /// Only this recipient domain's pause
        #[arg(long, value_name = "DOMAIN")]
        domain: Option<String>,
    },
    /// Fold the delivery rows of editions older than delivery.retention into their counts, as the daemon does daily
    Prune {
        /// Only print what would be folded
        #[arg(long)]
        dry_run: bool,
        /// Output format
        #[arg(long, value_enum, default_value_t = ShowFormat::Text)]
        format: ShowFormat,
        /// Pretend the current time is this instant (RFC 3339), for tests and replays
        #[arg(long, hide = true, value_parser = parse_timestamp)]
        now: Option<chrono::DateTime<chrono::Utc>>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration and print the effective values (secrets redacted)
    Check {
        /// Then connect to mail.smtp_url (EHLO, STARTTLS, AUTH), print what
        /// the relay offers and how TLS went, and QUIT; sends no mail
        #[arg(long)]
        connect: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SubscribersCommand {
    /// Add one subscriber (active unless --pending)
    Add(AddArgs),
    /// Erase a subscriber's row and personal data
    Remove {
        /// The subscriber's email address
        #[arg(value_parser = parse_email)]
        email: SubscriberEmail,
    },
    /// Mark a subscriber unsubscribed (kept, so an import cannot resubscribe them silently)
    Unsubscribe {
        /// The subscriber's email address
        #[arg(value_parser = parse_email)]
        email: SubscriberEmail,
    },
    /// Show one subscriber
    Show {
        /// The subscriber's email address
        #[arg(value_parser = parse_email)]
        email: SubscriberEmail,
        /// Output format
        #[arg(long, value_enum, default_value_t = ShowFormat::Text)]
        format: ShowFormat,
    },
    /// List subscribers in the order they were added
    List {
        /// Only subscribers with this status
        #[arg(long, value_parser = subscriber_status())]
        status: Option<SubscriberStatus>,
        /// Output format
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Import subscribers from CSV (header: email,name,timezone,frequency,send_hour,topics,status,locale)
    ///
    /// Only the email column is required; topics are separated by ';'. Rows
    /// are upserted by email: a new address is added (active unless the
    /// status column says otherwise), an existing one gets the non-empty
    /// fields of its row. Bad rows are reported with their line and skipped;
    /// the exit status is 1 when any row was rejected.
    Import {
        /// CSV file to read, or - for standard input
        file: PathBuf,
        /// Validate and count without writing anything
        #[arg(long)]
        dry_run: bool,
        /// Import addresses that bounced hard or complained too (and take them off the suppression list)
        #[arg(long)]
        allow_suppressed: bool,
    },
    /// Export all subscribers (the CSV form imports back unchanged)
    Export {
        /// Output format
        #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
        format: ExportFormat,
        /// Write to this file instead of standard output
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// The subscriber's email address
    #[arg(value_parser = parse_email)]
    pub email: SubscriberEmail,
    /// Display name, used in the To header
    #[arg(long, value_parser = parse_name)]
    pub name: Option<HeaderSafe>,
    /// IANA time zone, e.g. Europe/Lisbon [default: subscribers.default_timezone]
    #[arg(long, value_parser = parse_timezone, value_name = "TZ")]
    pub timezone: Option<TimeZone>,
    /// How often the digest comes
    #[arg(long, value_parser = frequency(), default_value_t = Frequency::Daily)]
    pub frequency: Frequency,
    /// Local hour 0-23 for the digest [default: subscribers.default_send_hour]
    #[arg(long, value_parser = parse_send_hour, value_name = "H")]
    pub send_hour: Option<SendHour>,
    /// Sections to follow, comma-separated; none means all
    #[arg(long, value_parser = parse_topics, value_name = "A,B")]
    pub topics: Option<Topics>,
    /// Language of their digest and pages, a BCP 47 tag (en, ar, fr-CA) [default: site.locale]
    #[arg(long, value_parser = parse_locale, value_name = "TAG")]
    pub locale: Option<Locale>,
    /// Add as pending (awaiting confirmation) instead of active
    #[arg(long)]
    pub pending: bool,
    /// Add an address that bounced hard or complained (and take it off the suppression list)
    #[arg(long)]
    pub allow_suppressed: bool,
}

#[derive(Debug, Subcommand)]
pub enum StoriesCommand {
    /// Import stories from JSON, JSON Lines or CSV, upserting by url
    ///
    /// Fields: kind (story|blog, default story), title, url, summary, author,
    /// section, image_url, published_at (RFC 3339), votes, comments. title,
    /// url and published_at are required. Re-importing a url updates the
    /// story, so this is also how votes and comments are refreshed.
    Import {
        /// File to read, or - for standard input
        file: PathBuf,
        /// Input format [default: from the file extension; sniffed for stdin]
        #[arg(long, value_enum)]
        format: Option<StoryFormat>,
        /// Validate and count without writing anything
        #[arg(long)]
        dry_run: bool,
    },
    /// List stories, newest first
    List {
        /// Only stories published at or after this instant (RFC 3339)
        #[arg(long, value_parser = parse_timestamp, value_name = "RFC3339")]
        since: Option<chrono::DateTime<chrono::Utc>>,
        /// Only this kind
        #[arg(long, value_parser = story_kind())]
        kind: Option<StoryKind>,
        /// At most this many
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Output format
        #[arg(long, value_enum, default_value_t = TableOrJson::Table)]
        format: TableOrJson,
    },
}

#[derive(Debug, Subcommand)]
pub enum FeedsCommand {
    /// Register a feed (or change the kind and section of a registered one)
    Add {
        /// The feed's http(s) URL
        #[arg(value_parser = parse_http_url)]
        url: HttpUrl,
        /// Which digest section its entries go to [default: story; on an
        /// update, unchanged]
        #[arg(long, value_parser = story_kind())]
        kind: Option<StoryKind>,
        /// Section (topic) for every entry; "" for each entry's first
        /// category [default: "" for a new feed; on an update, unchanged]
        #[arg(long, value_parser = parse_section)]
        section: Option<HeaderSafe>,
    },
    /// List feeds with their last success, last error and item count
    List {
        /// Output format
        #[arg(long, value_enum, default_value_t = TableOrJson::Table)]
        format: TableOrJson,
    },
    /// Forget a feed (its stories stay)
    Remove {
        /// The feed's id or URL
        feed: String,
    },
    /// Fetch every feed now, or only the one given
    Fetch {
        /// The feed's id or URL [default: every feed]
        feed: Option<String>,
        /// Output format
        #[arg(long, value_enum, default_value_t = TableOrJson::Table)]
        format: TableOrJson,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Table,
    Csv,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Csv,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TableOrJson {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShowFormat {
    Text,
    Json,
}

fn parse_email(s: &str) -> Result<SubscriberEmail, String> {
    SubscriberEmail::parse(s).map_err(|e| e.to_string())
}

fn parse_name(s: &str) -> Result<HeaderSafe, String> {
    HeaderSafe::parse(s, 200).map_err(|e| e.to_string())
}

fn parse_timezone(s: &str) -> Result<TimeZone, String> {
    TimeZone::parse(s).map_err(|e| e.to_string())
}

fn parse_send_hour(s: &str) -> Result<SendHour, String> {
    SendHour::parse(s).map_err(|e| e.to_string())
}

fn parse_locale(s: &str) -> Result<Locale, String> {
    Locale::parse(s).map_err(|e| format!("{s:?}: {e}"))
}

fn parse_topics(s: &str) -> Result<Topics, String> {
    Topics::parse(s, ',').map_err(|e| e.to_string())
}

fn parse_http_url(s: &str) -> Result<HttpUrl, String> {
    HttpUrl::parse(s).map_err(|e| e.to_string())
}

fn parse_section(s: &str) -> Result<HeaderSafe, String> {
    HeaderSafe::parse(s, crate::domain::text::MAX_SECTION).map_err(|e| e.to_string())
}

fn parse_timestamp(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    crate::domain::timestamp(s).map_err(|e| e.to_string())
}

/// A clap parser over the names of a domain enum: the accepted names come
/// from the domain type, and clap lists them in help and errors (the domain
/// knows nothing of clap).
fn names_of<T>(all: &'static [T], name: fn(&T) -> &'static str) -> impl TypedValueParser<Value = T>
where
    T: Copy + Send + Sync + 'static,
{
    PossibleValuesParser::new(all.iter().map(name)).map(move |chosen| {
        *all.iter()
            .find(|v| name(v) == chosen)
            .expect("clap only passes listed names")
    })
}

fn frequency() -> impl TypedValueParser<Value = Frequency> {
    names_of(&Frequency::ALL, |f| f.as_str())
}

fn subscriber_status() -> impl TypedValueParser<Value = SubscriberStatus> {
    names_of(&SubscriberStatus::ALL, |s| s.as_str())
}

fn story_kind() -> impl TypedValueParser<Value = StoryKind> {
    names_of(&StoryKind::ALL, |k| k.as_str())
}

fn bounce_category() -> impl TypedValueParser<Value = Category> {
    names_of(&Category::ALL, |c| c.as_str())
}

/// An RFC 3339 instant, or a span back from now: `90m`, `24h`, `7d`.
fn parse_since(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    let t = s.trim();
    let span = t
        .strip_suffix('d')
        .map(|n| (n, 86400))
        .or_else(|| t.strip_suffix('h').map(|n| (n, 3600)))
        .or_else(|| t.strip_suffix('m').map(|n| (n, 60)));
    if let Some((n, unit)) = span
        && let Ok(n) = n.parse::<i64>()
        && (0..=36500 * 86400 / unit).contains(&n)
    {
        return Ok(crate::store::now() - chrono::Duration::seconds(n * unit));
    }
    crate::domain::timestamp(t).map_err(|_| {
        format!("{s:?} is neither an RFC 3339 instant nor a span; expected e.g. 2026-03-10T00:00:00Z or 7d")
    })
}

fn delivery_status() -> impl TypedValueParser<Value = DeliveryStatus> {
    names_of(&DeliveryStatus::ALL, |s| s.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_tree_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}

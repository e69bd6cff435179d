//! Measures how many ~27 KB digests one core composes per second, without
//! DKIM and signed with each key named on the command line, through the
//! real configuration path and `herald::mail::Composer`. Run by
//! bench/dkim.sh, which sets the keys up and puts the figures next to
//! `openssl speed`.
//!
//!   dkim_rate SECONDS [KEY_FILE...]

use std::time::{Duration, Instant};

use herald::config::{Config, Overrides};
use herald::domain::{Edition, Frequency, Token};
use herald::mail::{Composer, Outgoing};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let seconds: f64 = args.next().unwrap_or_else(|| "3".into()).parse()?;
    let keys: Vec<String> = args.collect();
    let dir = std::env::temp_dir().join(format!("herald-dkim-rate-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;

    let (text, html) = digest_parts();
    let mut plain_rate = None;
    for key in std::iter::once(None).chain(keys.iter().map(Some)) {
        let composer = composer(&dir, key.map(String::as_str))?;
        let (rate, size) = rate(&composer, &text, &html, Duration::from_secs_f64(seconds))?;
        let label = key.map_or("no DKIM".to_owned(), |k| format!("DKIM {k}"));
        match plain_rate {
            None => {
                println!("compose {label}: {rate:.0} messages/s per core ({size} bytes)");
                plain_rate = Some(rate);
            }
            Some(plain) => {
                // The signing time alone: the time per signed message less
                // the time per unsigned one.
                let sign_only = 1.0 / (1.0 / rate - 1.0 / plain);
                println!(
                    "compose+sign {label}: {rate:.0} messages/s per core; signing alone {sign_only:.0}/s ({size} bytes)"
                );
            }
        }
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

fn composer(dir: &std::path::Path, key_file: Option<&str>) -> anyhow::Result<Composer> {
    let mut toml = "[site]\nname = \"Example News\"\npublic_url = \"https://news.example.com\"\n\
                    [mail]\nfrom = \"Example News <digest@example.com>\"\n"
        .to_owned();
    if let Some(key_file) = key_file {
        toml.push_str(&format!(
            "[mail.dkim]\ndomain = \"example.com\"\nselector = \"herald\"\nkey_file = \"{key_file}\"\n"
        ));
    }
    let path = dir.join("herald.toml");
    std::fs::write(&path, toml)?;
    let config = Config::load_from(
        &Overrides {
            config_path: Some(path),
            database_url: None,
            metrics_file: None,
        },
        &[],
    )
    .map_err(|e| anyhow::anyhow!("{}", e.0))?;
    Composer::new(&config.mail, config.site.name.as_str(), &config.site.public_url)
}

/// A text and an HTML part of ten stories, about 27 KB together, with an
/// accented author's name in both (as the real digests have), so neither
/// part is plain ASCII.
fn digest_parts() -> (String, String) {
    let mut text = String::from("Good morning, Ana!\n\nToday's top stories:\n\n");
    let mut html = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Daily digest</title></head>\n<body style=\"font-family:sans-serif\">\n",
    );
    for i in 1..=10 {
        let url =
            format!("https://news.example.com/2026/03/10/story-{i}-about-the-city-council-and-the-tram-line");
        text.push_str(&format!(
            "{i}. The city council approves the new tram line after a decade of debate (part {i})\n   {url}\n   by Élodie Marchand · Politics · 42 comments\n\n   {}\n\n",
            textwrap::fill(&"The long-awaited vote came late on Tuesday, after a session in which the opposition asked for more studies. ".repeat(4), 72).replace('\n', "\n   ")
        ));
        html.push_str(&format!(
            "<table role=\"presentation\" width=\"100%\" style=\"margin:0 0 24px 0\"><tr><td style=\"padding:8px;border-bottom:1px solid #ddd\">\n<h2 style=\"font-size:18px;margin:0 0 8px 0\"><a href=\"{url}?utm_source=herald&amp;utm_medium=email\" style=\"color:#0645ad;text-decoration:none\">The city council approves the new tram line after a decade of debate (part {i})</a></h2>\n<p style=\"color:#555;font-size:13px;margin:0 0 8px 0\">by Élodie Marchand &middot; Politics &middot; 42 comments</p>\n<p style=\"font-size:15px;line-height:1.5;margin:0\">{}</p>\n</td></tr></table>\n",
            "The long-awaited vote came late on Tuesday, after a session in which the opposition asked for more studies. ".repeat(8)
        ));
    }
    text.push_str("-- \nExample News · 1 Main Street · Springfield\nUnsubscribe: https://news.example.com/unsubscribe/x\n");
    html.push_str("<p style=\"font-size:12px;color:#777\">Example News &middot; 1 Main Street &middot; Springfield</p>\n</body></html>\n");
    (text, html)
}

/// Messages composed per second on this thread, and the size of one.
fn rate(composer: &Composer, text: &str, html: &str, budget: Duration) -> anyhow::Result<(f64, usize)> {
    let token = Token::generate();
    let edition = Edition {
        frequency: Frequency::Daily,
        date: chrono::NaiveDate::from_ymd_opt(2026, 3, 10).unwrap(),
    };
    let message_id = composer.message_id(&edition, 1, &token);
    let outgoing = Outgoing {
        to_email: "ana.smith@example.org",
        to_name: "Ana Smith",
        subject: "Your daily digest: the tram line is approved",
        html,
        text,
        message_id: &message_id,
        unsubscribe_url: "https://news.example.com/unsubscribe/x",
        token: &token,
        return_path: None,
    };
    let size = composer.compose(&outgoing)?.to_bytes().len();
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        std::hint::black_box(composer.compose(&outgoing)?);
        n += 1;
    }
    Ok((n as f64 / start.elapsed().as_secs_f64(), size))
}

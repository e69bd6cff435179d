//! Rendering throughput: one subscriber's digest (10 stories and 5 blog
//! posts, HTML + text + subject) from an edition whose story blocks are
//! already cached, as the engine does for every subscriber after the first.
//! Also measured: selection alone, and composing and serializing the MIME
//! message (headers, 8bit parts, no DKIM). The
//! target is 10,000 digests/s on one core. Run: `cargo bench --bench render`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use herald::domain::{History, Story, Subscriber};
use herald::render::{Recipient, Renderer};
use herald::select::{self, Pool};
use herald::templates::TemplateSources;
use herald::testing::{LIMITS, NOW, RULES, at, daily, site, story, subscriber};

fn now() -> chrono::DateTime<chrono::Utc> {
    at(NOW)
}

/// `n` candidates: every fourth a blog post, every third with an image,
/// twelve authors over four sections, popularity falling with age.
fn stories(n: i64) -> Vec<Story> {
    (1..=n)
        .map(|i| {
            let s = story(i)
                .title(&format!("Council approves the {i}th night bus route after a “long” debate"))
                .url(format!("https://news.example.com/world/2026/03/10/council-approves-night-bus-route-{i}"))
                .summary("Council votes 31–9 to keep night routes running; fares stay unchanged until 2027, the mayor's office said.")
                .author(format!("Author {}", i % 12))
                .section(["world", "business", "sport", "science"][(i % 4) as usize])
                .published(now() - chrono::Duration::minutes(i * 17))
                .updated(now())
                .votes(1000 / i)
                .comments(300 / i);
            let s = if i % 4 == 0 { s.blog() } else { s };
            let s = if i % 3 == 0 { s.image(format!("https://news.example.com/images/{i}.jpg")) } else { s };
            s.build()
        })
        .collect()
}

fn reader() -> Subscriber {
    subscriber("reader@example.com")
        .name("Zoë Laurent")
        .timezone("Europe/Paris")
        .build()
}

fn bench(c: &mut Criterion) {
    let renderer = Renderer::new(&TemplateSources::builtin(), site(), LIMITS).unwrap();
    let pool = Pool::rank(stories(200), now(), &RULES);
    let s = reader();
    let history = History::default();
    let digest = select::select(&pool, &s, &history, now(), &RULES);
    assert_eq!(digest.len(), 15);
    let edition = daily("2026-03-10");
    let pool = std::sync::Arc::new(pool);
    let blocks = renderer.edition(pool.clone(), edition);
    let to = Recipient {
        name: &s.name,
        email: s.email.as_str(),
        token: &s.token,
        locale: s.locale.as_ref(),
    };
    let sample = renderer.render(&blocks, &digest, to).unwrap();
    println!(
        "digest: {} items, HTML {} bytes, text {} bytes",
        digest.len(),
        sample.html.len(),
        sample.text.len()
    );

    let mut g = c.benchmark_group("digest");
    g.throughput(Throughput::Elements(1));
    g.bench_function("select (200 candidates)", |b| {
        b.iter(|| black_box(select::select(&pool, &s, &history, now(), &RULES)))
    });
    g.bench_function("render (subject + HTML + text, 15 items)", |b| {
        b.iter(|| black_box(renderer.render(&blocks, &digest, to).unwrap()))
    });
    let config = herald::config::Config::load_from(
        &herald::config::Overrides {
            config_path: Some("config/herald.toml".into()),
            database_url: None,
            metrics_file: None,
        },
        &[],
    )
    .unwrap();
    let composer =
        herald::mail::Composer::new(&config.mail, "Example News", &config.site.public_url).unwrap();
    let message_id = composer.message_id(&edition, s.id, &s.token);
    let unsubscribe_url = herald::domain::Links::new("https://news.example.com").unsubscribe(&s.token);
    g.bench_function("compose + serialize the MIME message", |b| {
        b.iter(|| {
            let email = composer
                .compose(&herald::mail::Outgoing {
                    to_email: s.email.as_str(),
                    to_name: &s.name,
                    subject: &sample.subject,
                    html: &sample.html,
                    text: &sample.text,
                    message_id: &message_id,
                    unsubscribe_url: &unsubscribe_url,
                    token: &s.token,
                    return_path: None,
                })
                .unwrap();
            black_box(email.to_bytes())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

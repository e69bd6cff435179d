//! RSA PKCS#1 v1.5 SHA-256 signatures per second with aws-lc-rs (Herald's
//! DKIM signer) and with ring (its previous one, still built for rustls),
//! on one thread and on THREADS threads at once, over the same key and the
//! same 1 KB of data (about what DKIM signs: the canonical headers). Run by
//! bench/dkim.sh next to `openssl speed rsa2048`.
//!
//!   rsa_sign_rate SECONDS KEY_FILE [THREADS]    # a PKCS#8 RSA key (openssl genpkey)

use std::time::{Duration, Instant};

use base64::Engine as _;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let seconds: f64 = args.next().unwrap_or_else(|| "3".into()).parse()?;
    let key_file = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: rsa_sign_rate SECONDS KEY_FILE [THREADS]"))?;
    let threads: usize = args.next().unwrap_or_else(|| "2".into()).parse()?;
    let der = pkcs8_der(&std::fs::read_to_string(&key_file)?)?;
    let budget = Duration::from_secs_f64(seconds);

    let aws = aws_lc_rs::signature::RsaKeyPair::from_pkcs8(&der)
        .map_err(|e| anyhow::anyhow!("aws-lc-rs cannot read {key_file}: {e}"))?;
    let ring = ring::signature::RsaKeyPair::from_pkcs8(&der)
        .map_err(|e| anyhow::anyhow!("ring cannot read {key_file}: {e}"))?;
    let bits = aws.public_modulus_len() * 8;

    let sign_aws = || {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let mut signature = vec![0; aws.public_modulus_len()];
        let data = [b'h'; 1024];
        rate(budget, || {
            aws.sign(
                &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                &rng,
                &data,
                &mut signature,
            )
            .expect("aws-lc-rs signs");
        })
    };
    let sign_ring = || {
        let rng = ring::rand::SystemRandom::new();
        let mut signature = vec![0; ring.public().modulus_len()];
        let data = [b'h'; 1024];
        rate(budget, || {
            ring.sign(&ring::signature::RSA_PKCS1_SHA256, &rng, &data, &mut signature)
                .expect("ring signs");
        })
    };
    for (name, one) in [
        ("aws-lc-rs", &sign_aws as &(dyn Fn() -> f64 + Sync)),
        ("ring", &sign_ring),
    ] {
        let single = one();
        let parallel: f64 = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads).map(|_| s.spawn(one)).collect();
            handles.into_iter().map(|h| h.join().expect("thread")).sum()
        });
        println!("{name} rsa{bits} sign/s: {single:.0} on 1 thread, {parallel:.0} on {threads} threads");
    }
    Ok(())
}

/// Calls per second of `f` on this thread within `budget`.
fn rate(budget: Duration, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        f();
        n += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// The DER of a "BEGIN PRIVATE KEY" PEM block.
fn pkcs8_der(pem: &str) -> anyhow::Result<Vec<u8>> {
    let body: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN PRIVATE KEY-----"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    anyhow::ensure!(
        !body.is_empty(),
        "expected a PKCS#8 PEM block (BEGIN PRIVATE KEY)"
    );
    Ok(base64::engine::general_purpose::STANDARD.decode(body)?)
}

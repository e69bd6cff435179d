//! The signup rate limits: governor's keyed limiters, with their memory
//! bounded. A limiter holds at most `max_keys` keys; every minute (and when
//! it is full) the keys whose quota has fully recovered are dropped, so
//! the map holds only clients seen recently. When it is still full, every
//! request is refused until keys age out: a flood of distinct clients can
//! slow signups for everyone, but never grow Herald's memory. Keys for
//! IPv6 clients are their /64 network, which one subscriber's line gets
//! whole; addresses are keyed by a 64-bit hash (SipHash with this
//! process's random keys, so nobody can aim at a collision), so a key's
//! size does not depend on what a client sends. Pure in-memory state; no
//! IO.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Weak};
use std::time::Duration;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// How often old keys are dropped.
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// A keyed rate limit with a bounded number of keys.
pub struct Limiter<K: Hash + Eq + Clone> {
    inner: DefaultKeyedRateLimiter<K>,
    max_keys: usize,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    /// `n` a key per hour (a burst of `n`, then one every hour / `n`).
    pub fn per_hour(n: u32, max_keys: usize) -> Self {
        let quota = Quota::per_hour(NonZeroU32::new(n).expect("a non-zero constant"));
        Limiter {
            inner: RateLimiter::keyed(quota),
            max_keys,
        }
    }

    /// Whether one more request for `key` is allowed now (and counts it).
    pub fn allow(&self, key: &K) -> bool {
        if self.inner.len() >= self.max_keys {
            self.inner.retain_recent();
            if self.inner.len() >= self.max_keys {
                tracing::warn!(
                    keys = self.inner.len(),
                    "signup limiter full: refusing until keys age out"
                );
                return false;
            }
        }
        self.inner.check_key(key).is_ok()
    }

    /// Drops the keys whose quota has recovered, and the memory they held.
    pub fn sweep(&self) {
        self.inner.retain_recent();
        self.inner.shrink_to_fit();
    }

    /// How many keys it holds.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner.len()
    }
}

/// Sweeps `limiters` every [`SWEEP_EVERY`] on the current Tokio runtime
/// (if any) for as long as something else holds them.
pub fn sweep_on_schedule<K>(limiters: &[&Arc<Limiter<K>>])
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
{
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let weak: Vec<Weak<Limiter<K>>> = limiters.iter().map(|l| Arc::downgrade(l)).collect();
    runtime.spawn(async move {
        let mut every = tokio::time::interval(SWEEP_EVERY);
        every.tick().await;
        loop {
            every.tick().await;
            let mut alive = false;
            for l in weak.iter().filter_map(Weak::upgrade) {
                l.sweep();
                alive = true;
            }
            if !alive {
                return;
            }
        }
    });
}

/// The key a client address is limited by: an IPv4 address (also when
/// mapped into IPv6) as is, an IPv6 address as its /64 network; no address
/// at all is one shared key.
pub fn ip_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// The key an address is limited by: its 64-bit hash under `hasher`.
pub fn address_key(hasher: &std::hash::RandomState, address: &str) -> u64 {
    use std::hash::BuildHasher;
    hasher.hash_one(address)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_share_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(ip_key(a), ip_key(b));
        assert_ne!(ip_key(a), ip_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(ip_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn a_full_limiter_refuses_instead_of_growing() {
        let l = Limiter::per_hour(5, 3);
        for k in 0..3 {
            assert!(l.allow(&k));
        }
        assert_eq!(l.len(), 3);
        assert!(!l.allow(&99), "a fourth key does not fit");
        assert!(!l.allow(&0), "nor does anyone while it is full");
        assert_eq!(l.len(), 3);
    }

    #[test]
    fn a_key_is_limited_alone() {
        let l = Limiter::per_hour(2, 100);
        assert!(l.allow(&"a") && l.allow(&"a"));
        assert!(!l.allow(&"a"));
        assert!(l.allow(&"b"));
    }
}

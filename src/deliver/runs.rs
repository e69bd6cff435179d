//! This process as a run: who it is (host, pid, and a start marker so that
//! a reused pid is not mistaken for it), its registration in the store, the
//! heartbeat task that renews it every `delivery.heartbeat` on the
//! database's clock, and the check of other runs registered on this host
//! whose process is gone (read from `/proc`), which are marked stopped so
//! that their claims are free at once. A run that fails to renew within
//! `delivery.heartbeat_timeout`, or finds itself already judged dead, is
//! *lost*: it must stop sending, as others may have taken its claims. No
//! SQL here (the store's `runs`), and nothing about deliveries.

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::store::Store;

/// This process, as the `runs` table records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub host: String,
    pub pid: u32,
    /// `boot_id:starttime` (the kernel's boot id and the process's start
    /// time in clock ticks since boot), or `pid:<pid>` where `/proc` has
    /// neither.
    pub start_marker: String,
}

impl Identity {
    pub fn this_process() -> Identity {
        let pid = std::process::id();
        Identity {
            host: host_name(),
            pid,
            start_marker: start_marker(pid).unwrap_or_else(|| format!("pid:{pid}")),
        }
    }
}

/// The host name, as the kernel has it.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// `boot_id:starttime` of process `pid`, if `/proc` tells.
fn start_marker(pid: u32) -> Option<String> {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(format!("{}:{}", boot.trim(), start_time(&stat)?))
}

/// Field 22 of `/proc/<pid>/stat` (the start time). The command name in
/// field 2 is in parentheses and may hold spaces, so fields are counted
/// after the last `)`.
fn start_time(stat: &str) -> Option<&str> {
    let rest = &stat[stat.rfind(')')? + 1..];
    // Fields 3, 4, … follow; the start time is the 20th of them.
    rest.split_whitespace().nth(19)
}

/// Whether the process that registered as (`pid`, `marker`) on this host
/// is gone: no such process, or another one under its pid (a different
/// boot or start time). A marker without `/proc` details proves nothing,
/// so such a run is left to its heartbeat.
pub fn is_gone(pid: i64, marker: &str) -> bool {
    if marker.starts_with("pid:") {
        return false;
    }
    match u32::try_from(pid).ok().and_then(start_marker) {
        None => std::path::Path::new("/proc/self/stat").exists(),
        Some(now) => now != marker,
    }
}

/// A registered run and its heartbeat task.
pub(super) struct Registered {
    pub id: i64,
    /// Fired when the run is lost (see the module docs).
    pub lost: CancellationToken,
    /// Stops the heartbeat.
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Registered {
    /// Registers this process and starts renewing its heartbeat.
    pub async fn start(store: &Store, heartbeat: Duration, timeout: Duration) -> anyhow::Result<Registered> {
        let me = Identity::this_process();
        let id = store.register_run(&me.host, me.pid, &me.start_marker).await?;
        tracing::info!(run = id, host = %me.host, pid = me.pid, "run registered");
        let (lost, stop) = (CancellationToken::new(), CancellationToken::new());
        let task = tokio::spawn(beat(
            store.clone(),
            id,
            heartbeat,
            timeout,
            lost.clone(),
            stop.clone(),
        ));
        Ok(Registered { id, lost, stop, task })
    }

    /// Stops the heartbeat and marks the run stopped: its claims are free.
    pub async fn stop(&self, store: &Store) -> anyhow::Result<()> {
        self.stop.cancel();
        self.task.abort();
        store.stop_runs(&[self.id]).await
    }
}

/// The heartbeat: renews the run until stopped; on a renewal refused (the
/// run was judged dead) or no renewal for `timeout`, fires `lost`.
async fn beat(
    store: Store,
    id: i64,
    every: Duration,
    timeout: Duration,
    lost: CancellationToken,
    stop: CancellationToken,
) {
    let mut renewed = Instant::now();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.cancelled() => return,
        }
        match store.renew_run(id, timeout).await {
            Ok(true) => renewed = Instant::now(),
            Ok(false) => {
                tracing::error!(
                    run = id,
                    "this run was judged dead by the store (stopped, or silent longer than delivery.heartbeat_timeout); it stops sending"
                );
                lost.cancel();
                return;
            }
            Err(e) => {
                tracing::warn!(run = id, error = %format!("{e:#}"), "renewing the run's heartbeat failed");
                if renewed.elapsed() >= timeout {
                    tracing::error!(
                        run = id,
                        "no heartbeat for delivery.heartbeat_timeout; this run stops sending"
                    );
                    lost.cancel();
                    return;
                }
            }
        }
    }
}

/// Marks stopped every run registered on this host, other than `me`, whose
/// process is gone; returns how many.
pub(super) async fn reap(store: &Store, me: i64) -> anyhow::Result<usize> {
    let host = host_name();
    let gone: Vec<i64> = store
        .open_runs_on(&host, me)
        .await?
        .into_iter()
        .filter(|r| is_gone(r.pid, &r.start_marker))
        .map(|r| r.id)
        .collect();
    if !gone.is_empty() {
        store.stop_runs(&gone).await?;
        tracing::info!(runs = ?gone, "runs whose process is gone were marked stopped; their claims are free");
    }
    Ok(gone.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_time_is_read_after_the_command_name() {
        let stat = "4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 987654 1000 10 18446744073709551615";
        assert_eq!(start_time(stat), Some("987654"));
    }

    #[test]
    fn this_process_is_alive_and_a_made_up_one_is_gone() {
        let me = Identity::this_process();
        assert!(!is_gone(i64::from(me.pid), &me.start_marker));
        assert!(
            is_gone(i64::from(me.pid), "another-boot:1"),
            "a reused pid is not the run"
        );
        assert!(is_gone(i64::from(u32::MAX - 1), &me.start_marker));
        assert!(!is_gone(1, "pid:1"), "without /proc details nothing is proven");
    }
}

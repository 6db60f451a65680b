//! CPU time, read from /proc: what a delivery costs PostgreSQL (the ledger) and the daemon,
//! whatever the machine's speed. Shares of a ceiling move with everything else the two cores
//! run; CPU per delivery moves much less, so it shows what a change to either side saved.
//!
//! Everything runs on this machine, and `pg_stat_statements` (which times statements, not CPU)
//! is often not preloaded: PostgreSQL's processes are counted instead, the backends' own time
//! plus what the postmaster collected from those that ended meanwhile.

use std::time::Duration;

/// /proc reports times in clock ticks of USER_HZ, 100 a second on Linux whatever the kernel's
/// own tick rate (`man 5 proc`).
const TICKS_PER_SECOND: u64 = 100;

/// CPU time used so far by every PostgreSQL process this user may read; `None` when none is
/// found (PostgreSQL runs elsewhere).
pub fn postgres() -> Option<Duration> {
    let mut ticks = 0;
    let mut found = false;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        if let Some(used) = postgres_ticks(&stat) {
            ticks += used;
            found = true;
        }
    }
    found.then(|| from_ticks(ticks))
}

/// CPU time used so far by the process `pid` (all its threads); `None` once it has ended.
pub fn process(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    ticks(&stat).map(|(_, ticks)| from_ticks(ticks))
}

fn from_ticks(ticks: u64) -> Duration {
    Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND)
}

/// A process's user and system ticks, and those of its ended children it waited for (the
/// postmaster waits for every backend), when the process is PostgreSQL's.
fn postgres_ticks(stat: &str) -> Option<u64> {
    ticks(stat).and_then(|(comm, ticks)| (comm == "postgres").then_some(ticks))
}

/// The command name of a `/proc/PID/stat` line, and the process's user and system ticks with
/// those of its ended children it waited for.
fn ticks(stat: &str) -> Option<(&str, u64)> {
    // `pid (comm) state ppid …`: comm may hold spaces and parentheses, the last `)` ends it.
    let (head, rest) = stat.rsplit_once(')')?;
    let comm = head.split_once('(')?.1;
    // After comm: state(3) ppid(4) … utime(14) stime(15) cutime(16) cstime(17).
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some((comm, field(14)? + field(15)? + field(16)? + field(17)?))
}

/// Milliseconds of CPU per 1,000 deliveries between two readings.
pub fn per_thousand(
    before: Option<Duration>,
    after: Option<Duration>,
    deliveries: u64,
) -> Option<f64> {
    let used = after?.checked_sub(before?)?;
    (deliveries > 0).then(|| used.as_secs_f64() * 1000.0 * 1000.0 / deliveries as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backend_s_line_counts_its_own_and_its_children_s_ticks() {
        let backend = "4242 (postgres) S 1000 4242 4242 0 -1 4194560 9 0 0 0 250 50 7 3 20 0 1 0";
        assert_eq!(postgres_ticks(backend), Some(250 + 50 + 7 + 3));
        let other = "17 (tocsin serve) S 1 17 17 0 -1 4194560 9 0 0 0 900 90 0 0 20 0 1 0";
        assert_eq!(postgres_ticks(other), None);
        assert_eq!(postgres_ticks("garbage"), None);
    }

    #[test]
    fn cpu_per_thousand_deliveries() {
        let (before, after) = (Duration::from_secs(10), Duration::from_millis(12_500));
        assert_eq!(per_thousand(Some(before), Some(after), 10_000), Some(250.0));
        assert_eq!(per_thousand(None, Some(after), 10_000), None);
        assert_eq!(per_thousand(Some(before), Some(after), 0), None);
    }

    #[test]
    fn this_machine_s_postgresql_is_found() {
        // The tests run beside a local PostgreSQL.
        assert!(postgres().is_some_and(|t| t > Duration::ZERO));
    }

    #[test]
    fn a_process_s_own_time_grows_as_it_works_and_an_ended_one_has_none() {
        let me = std::process::id();
        let before = process(me).expect("this process is running");
        // Spins until the reading has moved by five ticks; a reading that never moves fails
        // the test at the guard, however loaded the machine.
        let guard = std::time::Instant::now() + Duration::from_secs(30);
        let mut spin = 0u64;
        while process(me).expect("still running") < before + Duration::from_millis(50) {
            for _ in 0..100_000 {
                spin = std::hint::black_box(spin.wrapping_add(1));
            }
            assert!(std::time::Instant::now() < guard, "no CPU time counted");
        }
        assert_eq!(process(u32::MAX), None);
    }
}

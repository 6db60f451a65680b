use std::process::Command;

use serde_json::Value;

use crate::support::{ADMIN_URL, Env};

/// Runs `tocsin bench --json` with `args` against this test's database and queues, drops the
/// benchmark's own database whatever happened, and returns the report.
async fn run_bench(env: &Env, args: &[&str]) -> Value {
    let log = tempfile::NamedTempFile::new().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_tocsin"))
        .args([
            "bench",
            "--json",
            "--daemon-log",
            log.path().to_str().unwrap(),
        ])
        .args(args)
        .env("TOCSIN_DATABASE_URL", &env.db.url)
        .env("TOCSIN_QUEUE_PREFIX", &env.prefix)
        .output()
        .expect("the tocsin binary runs");
    // The benchmark's database is the configured one + `_bench`.
    let admin = sqlx::PgPool::connect(ADMIN_URL).await.unwrap();
    let drop = format!("DROP DATABASE IF EXISTS {}_bench WITH (FORCE)", env.db.name);
    sqlx::query(sqlx::AssertSqlSafe(drop))
        .execute(&admin)
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "stderr: {}\ndaemon log: {}",
        String::from_utf8_lossy(&output.stderr),
        std::fs::read_to_string(log.path()).unwrap_or_default()
    );
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

/// The benchmark runs end to end on a small commune: the real daemon as a child process, the
/// smsmode stand-in, postfix's smtp-sink, the push service stand-in, and a report whose figures
/// add up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_benchmark_measures_a_small_commune_on_both_channels() {
    let env = Env::new().await;
    let plot = tempfile::NamedTempFile::new().unwrap();
    let plot_path = plot.path().to_str().unwrap();
    let args = ["--subscribers", "300", "--runs", "1", "--plot", plot_path];
    let report = run_bench(&env, &args).await;
    let runs = report["sizes"][0]["runs"].as_array().unwrap();
    let channels: Vec<&str> = runs
        .iter()
        .map(|r| r["channel"].as_str().unwrap())
        .collect();
    assert_eq!(channels, ["sms", "email", "push"], "one run per channel");
    for run in runs {
        assert!(run["status"]["calls"].as_u64().unwrap() > 0, "{run}");
        assert_eq!(run["deliveries"], 300, "{run}");
        assert_eq!(run["failed"], 0, "{run}");
        // What the ledger cost PostgreSQL, read from its processes on this machine.
        let pg_cpu = run["pg_cpu_ms_per_1000"].as_f64().unwrap_or(0.0);
        assert!(pg_cpu > 0.0, "{run}");
        let first = run["first_delivery_ms"].as_f64().unwrap();
        let last = run["p100_ms"].as_f64().unwrap();
        assert!(first > 0.0 && first <= last, "{run}");
        assert!(run["ceiling_rate"].as_f64().unwrap() > 0.0, "{run}");
        let plotted: u64 = run["series"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p[1].as_u64().unwrap())
            .sum();
        assert_eq!(plotted, 300, "every delivery is in the time series");
    }
    assert!(
        report["sizes"][0]["daemon_peak_rss_bytes"]
            .as_u64()
            .unwrap()
            > 0
    );
    let svg = std::fs::read_to_string(plot.path()).unwrap();
    assert!(
        svg.starts_with("<svg") || svg.starts_with("<?xml"),
        "{}",
        &svg[..svg.len().min(80)]
    );
}

/// Voice in the benchmark: every landline called, each callee pressing 1 once its phone has
/// rung, and the paced run holding the account's calls per second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_benchmark_calls_landlines_and_holds_the_calls_per_second() {
    let env = Env::new().await;
    let args = ["--subscribers", "200", "--runs", "1"];
    let voice = ["--channels", "voice", "--calls-per-second", "20"];
    let report = run_bench(&env, &[&args[..], &voice[..]].concat()).await;
    let run = &report["sizes"][0]["runs"][0];
    assert_eq!(run["channel"], "voice", "{run}");
    assert_eq!(
        (&run["deliveries"], &run["failed"], &run["acknowledged"]),
        (&Value::from(200), &Value::from(0), &Value::from(200)),
        "every landline called once, every callee confirmed: {run}"
    );
    assert!(run["ceiling_rate"].as_f64().unwrap() > 0.0, "{run}");
    // The calls' ends come after a ring of 10 s: the last change is that much after placing.
    let (placed, over) = (
        run["p100_ms"].as_f64().unwrap(),
        run["last_update_ms"].as_f64().unwrap(),
    );
    assert!(over >= placed + 9_000.0, "{run}");

    let paced = &report["voice_paced"]["summary"];
    assert_eq!(
        paced["landlines"], 300,
        "15 s at 20 calls a second: {paced}"
    );
    assert_eq!(paced["acknowledged"], paced["calls"], "{paced}");
    let pace = paced["pace"]["median"].as_f64().unwrap();
    assert!((19.0..=20.0).contains(&pace), "{paced}");
    assert_eq!(paced["time_to_warn"][0]["landlines"], 200, "{paced}");
    let passed: Vec<&str> = report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["pass"] == true)
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    // At most 22 in a second at 20/s: the limiter's floors (src/dispatch/limits.rs).
    for target in [
        "Voice calls per second",
        "Voice: calls in the busiest second",
    ] {
        let found = passed.iter().any(|n| n.starts_with(target));
        assert!(found, "{target}: {passed:?}\n{paced}");
    }
}

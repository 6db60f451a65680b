//! The benchmark's command line: bad options are refused before anything starts.

use std::process::Command;

fn bench(args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_tocsin-bench"))
        .args(args)
        .output()
        .expect("tocsin-bench runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn sizes_and_rates_out_of_range_are_named() {
    for (args, said) in [
        (
            &["--subscribers", "0"][..],
            "--subscribers: sizes must be positive",
        ),
        (&["--channels", "fax"][..], "--channels:"),
        (
            &["--channels", "voice", "--calls-per-second", "5000"][..],
            "--calls-per-second:",
        ),
    ] {
        let (passed, stderr) = bench(args);
        assert!(!passed, "{args:?} passed");
        assert!(stderr.contains(said), "{args:?}: {stderr}");
    }
}

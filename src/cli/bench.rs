//! `tocsin bench`: hands over to the benchmark's own binary, `tocsin-bench`, which stays out of
//! the daemon a host installs. In a source checkout it is built, with the profile of this
//! binary, when missing or older than this binary or than a file of bench/: `cargo run
//! --release -- bench` rebuilds only `tocsin`, and a benchmark built before the daemon it
//! measures may expect another schema.

use std::{
    ffi::OsString,
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::Context;

const BENCH: &str = "tocsin-bench";
/// The checkout this binary was built from: the benchmark is built there.
const SOURCE: &str = env!("CARGO_MANIFEST_DIR");

/// Replaces this process with `tocsin-bench config args…` (so Ctrl-C and the exit status are
/// the benchmark's own); returns only on failure.
pub fn hand_over(
    config: Option<&Path>,
    args: Vec<OsString>,
) -> anyhow::Result<std::convert::Infallible> {
    let exe = std::env::current_exe().context("cannot find this binary's path")?;
    let bench = exe.with_file_name(BENCH);
    match checkout_target(&exe) {
        Some(target) if stale(&bench, &exe) => build(&exe, &target)?,
        Some(_) => {}
        None => anyhow::ensure!(
            bench.exists(),
            "the benchmark is not installed with Tocsin: run it from a source checkout \
             (cargo run --release -- bench)"
        ),
    }
    let mut command = Command::new(&bench);
    if let Some(config) = config {
        command.arg("--config").arg(config);
    }
    let error = command.args(args).exec();
    Err(error).with_context(|| format!("cannot run {}", bench.display()))
}

/// The cargo target directory holding `exe`, when `exe` is a cargo build of a checkout that is
/// still there; a packaged binary sits in none.
fn checkout_target(exe: &Path) -> Option<PathBuf> {
    let target = exe.parent()?.parent()?;
    // Cargo marks the target directories it makes.
    let built_by_cargo = target.join("CACHEDIR.TAG").exists();
    let checkout = Path::new(SOURCE).join("bench/Cargo.toml").exists();
    (built_by_cargo && checkout).then(|| target.to_path_buf())
}

/// Whether `bench` is missing, or older than `exe` or than a file of the checkout's bench/.
fn stale(bench: &Path, exe: &Path) -> bool {
    let Some(built) = modified(bench) else {
        return true;
    };
    let sources = newest(&Path::new(SOURCE).join("bench"));
    [modified(exe), sources]
        .into_iter()
        .flatten()
        .any(|time| time > built)
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The newest modification time of the files under `dir`.
fn newest(dir: &Path) -> Option<std::time::SystemTime> {
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter_map(|entry| match entry.file_type().ok()?.is_dir() {
            true => newest(&entry.path()),
            false => modified(&entry.path()),
        })
        .max()
}

/// Builds `tocsin-bench` beside `exe`, with its profile.
fn build(exe: &Path, target: &Path) -> anyhow::Result<()> {
    let source = Path::new(SOURCE);
    let profile_dir = exe.parent().context("this binary has no directory")?;
    let profile = match profile_dir.file_name().and_then(|name| name.to_str()) {
        Some("debug") => "dev",
        Some(name) => name,
        None => "release",
    };
    eprintln!("building the benchmark ({BENCH}, profile {profile}) in {SOURCE}…");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let built = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--profile",
            profile,
            "-p",
            BENCH,
            "--manifest-path",
        ])
        .arg(source.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target)
        .status()
        .context("cannot run cargo to build the benchmark")?;
    anyhow::ensure!(built.success(), "building {BENCH} failed ({built})");
    Ok(())
}

//! What deploy/ ships beside the binary is true of it: the package's completions and man pages
//! are what `tocsin` makes now (deploy/debian/generate remakes them), and the alerting rules and
//! the dashboard pass promtool and name only metrics Tocsin exports.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    process::Command,
};

const TOCSIN: &str = env!("CARGO_BIN_EXE_tocsin");
const STALE: &str = "stale: run deploy/debian/generate";

fn made_by_tocsin(args: &[&str]) -> String {
    let output = Command::new(TOCSIN).args(args).output().unwrap();
    assert!(output.status.success(), "tocsin {args:?}");
    String::from_utf8(output.stdout).unwrap()
}

fn files_in(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect()
}

#[test]
fn the_package_s_completions_are_those_of_this_command_line() {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/debian/completions");
    for (shell, file) in [
        ("bash", "tocsin.bash"),
        ("zsh", "_tocsin"),
        ("fish", "tocsin.fish"),
    ] {
        let made = made_by_tocsin(&["completions", shell]);
        assert!(
            made.contains("doctor") && made.contains("migrate"),
            "{shell}"
        );
        let kept = std::fs::read_to_string(shipped.join(file)).unwrap_or_default();
        assert!(kept == made, "deploy/debian/completions/{file}: {STALE}");
    }
}

#[test]
fn the_package_s_man_pages_are_those_of_this_command_line() {
    let made = tempfile::tempdir().unwrap();
    made_by_tocsin(&["man-pages", made.path().to_str().unwrap()]);
    let made = files_in(made.path());
    let shipped = files_in(&Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/debian/man"));
    assert!(made["tocsin.1"].contains("migrate") && made.contains_key("tocsin-serve.1"));
    assert_eq!(
        made.keys().collect::<Vec<_>>(),
        shipped.keys().collect::<Vec<_>>(),
        "deploy/debian/man: {STALE}"
    );
    for (name, page) in &made {
        assert!(shipped[name] == *page, "deploy/debian/man/{name}: {STALE}");
    }
}

fn repository(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn promtool(args: &[&str]) {
    let output = Command::new("promtool")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("promtool (Debian's prometheus package; tests/run installs it)");
    assert!(
        output.status.success(),
        "promtool {args:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_alerting_rules_pass_promtool_and_fire_when_their_tests_say() {
    promtool(&["check", "rules", "deploy/prometheus/tocsin-rules.yml"]);
    promtool(&["test", "rules", "deploy/prometheus/tocsin-rules.test.yml"]);
}

/// The `tocsin_…` names in `text`, as series: a histogram's or summary's parts by their family.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (start, _) in text.match_indices("tocsin_") {
        let name: String = text[start..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|part| name.strip_suffix(part))
            .unwrap_or(&name);
        names.insert(family.to_owned());
    }
    names
}

#[test]
fn the_rules_and_the_dashboard_name_only_metrics_tocsin_exports() {
    let exported = metric_names(&tocsin::dispatch::metrics::Metrics::default().render());
    // Families without a sample yet are not rendered: their names come from their registration.
    let registered =
        metric_names(&std::fs::read_to_string(repository("src/dispatch/metrics.rs")).unwrap());
    let known: BTreeSet<_> = exported.union(&registered).collect();
    assert!(known.contains(&"tocsin_ready".to_owned()), "{known:?}");
    for file in [
        "deploy/prometheus/tocsin-rules.yml",
        "deploy/grafana/tocsin-dashboard.json",
    ] {
        let used = metric_names(&std::fs::read_to_string(repository(file)).unwrap());
        assert!(used.len() >= 8, "{file}: {used:?}");
        let unknown: Vec<_> = used.iter().filter(|name| !known.contains(name)).collect();
        assert!(
            unknown.is_empty(),
            "{file} names metrics Tocsin does not export: {unknown:?}"
        );
    }
}

/// The help becomes the man pages: it names every channel Tocsin has.
#[test]
fn the_help_and_so_the_man_pages_name_every_channel() {
    let about = made_by_tocsin(&["--help"]);
    let send = made_by_tocsin(&["send", "--help"]);
    let channels = send
        .lines()
        .skip_while(|line| !line.contains("--channels"))
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    for channel in tocsin::model::Channel::ALL {
        let word = channel.to_string();
        assert!(
            channels.contains(&word),
            "send --channels lacks {word}: {channels}"
        );
    }
    for said in ["SMS", "e-mail", "Web Push", "voice"] {
        assert!(about.lines().next().unwrap().contains(said), "{about}");
    }
}

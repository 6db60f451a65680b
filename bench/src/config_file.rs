//! The daemon's configuration file for a run: the operator's file (if any) with what the
//! benchmark adds (its voice account, a pool, a limit). Named accounts, pools and limits cannot
//! be set by environment variables, so they go into a file of their own.

use std::{
    io::Write,
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
};

use anyhow::Context;

/// The operator's configuration as a table, or an empty one.
pub fn operator_table(operator: Option<&Path>) -> anyhow::Result<toml::Table> {
    let Some(path) = operator else {
        return Ok(toml::Table::new());
    };
    std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .parse::<toml::Table>()
        .with_context(|| format!("{} is not TOML", path.display()))
}

/// `parent[key]` as a table, made when missing.
pub fn table<'t>(parent: &'t mut toml::Table, key: &str) -> anyhow::Result<&'t mut toml::Table> {
    parent
        .entry(key)
        .or_insert_with(|| toml::Value::Table(toml::Table::new()))
        .as_table_mut()
        .with_context(|| format!("{key} must be a table"))
}

/// A configuration file in a directory of its own that goes when this is dropped. The
/// operator's file may hold secrets (a database URL), so the copy is readable by its owner only.
pub struct ConfigFile {
    dir: PathBuf,
    pub path: PathBuf,
}

impl ConfigFile {
    pub fn write(table: &toml::Table) -> anyhow::Result<ConfigFile> {
        let text = toml::to_string(table)?;
        let dir = std::env::temp_dir().join(format!(
            "tocsin-bench-{}",
            hex::encode(rand::random::<[u8; 8]>())
        ));
        std::fs::create_dir(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let file = ConfigFile {
            path: dir.join("tocsin.toml"),
            dir,
        };
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&file.path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .with_context(|| format!("cannot write {}", file.path.display()))?;
        Ok(file)
    }
}

impl Drop for ConfigFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

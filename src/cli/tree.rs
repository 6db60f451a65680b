//! `tocsin tenant create | move | tree`: where tenants stand in the tree.

use std::path::Path;

use anyhow::bail;

use super::ops::{database, load};
use crate::{
    model::{Slug, TenantKind},
    store::tree,
};

pub async fn create(
    path: Option<&Path>,
    slug: &str,
    name: &str,
    kind: &str,
    parent: Option<&str>,
) -> anyhow::Result<()> {
    let slug = Slug::parse(slug).map_err(|e| anyhow::anyhow!("tenant slug: {e}"))?;
    let name = name.trim();
    if name.is_empty() {
        bail!("--name must not be empty");
    }
    crate::model::text::check_line(name).map_err(|e| anyhow::anyhow!("--name {e}"))?;
    let kind: TenantKind = kind.parse().map_err(|e| anyhow::anyhow!("--kind: {e}"))?;
    if kind == TenantKind::Platform {
        bail!("--kind: the platform exists already; choose commune or group");
    }
    let config = load(path)?;
    let db = database(&config).await?;
    let id = tree::create(&db, &slug, name, kind, parent).await?;
    let details = serde_json::json!({ "kind": kind, "parent": parent });
    super::audit::record(&db, Some(id), "tenant.created", slug.as_str(), details).await?;
    println!("{id}");
    eprintln!(
        "{} {} created under {}",
        kind.as_str(),
        slug.as_str(),
        parent.unwrap_or("the platform")
    );
    Ok(())
}

pub async fn move_to(path: Option<&Path>, slug: &str, parent: &str) -> anyhow::Result<()> {
    let config = load(path)?;
    let db = database(&config).await?;
    tree::move_to(&db, slug, parent).await?;
    let moved = crate::store::tenants::find_by_slug(&db, slug)
        .await?
        .map(|t| t.id);
    let details = serde_json::json!({ "parent": parent });
    super::audit::record(&db, moved, "tenant.moved", slug, details).await?;
    eprintln!("{slug} is now under {parent}");
    Ok(())
}

pub async fn show(path: Option<&Path>, json: bool) -> anyhow::Result<()> {
    let config = load(path)?;
    let db = database(&config).await?;
    let nodes = tree::below(&db, tree::platform(&db).await?.id).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&nodes)?);
        return Ok(());
    }
    let levels = depths(nodes.iter().map(|n| (n.slug.as_str(), n.parent.as_deref())));
    for (node, level) in nodes.iter().zip(levels) {
        println!(
            "{}{} ({}) {}",
            "  ".repeat(level),
            node.slug,
            node.kind.as_str(),
            node.name
        );
    }
    Ok(())
}

/// How deep each tenant of a list in tree order (parents before members) sits below the first.
pub(super) fn depths<'a>(nodes: impl Iterator<Item = (&'a str, Option<&'a str>)>) -> Vec<usize> {
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    nodes
        .map(|(slug, parent)| {
            let level = parent.and_then(|p| seen.get(p)).map_or(0, |d| d + 1);
            seen.insert(slug, level);
            level
        })
        .collect()
}

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
    let nodes = tree::all(&db).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&nodes)?);
        return Ok(());
    }
    // Parents come before their members: a member's depth is its parent's plus one.
    let mut depth = std::collections::HashMap::new();
    for node in &nodes {
        let level = node
            .parent
            .as_ref()
            .and_then(|p| depth.get(p))
            .map_or(0, |d| d + 1);
        depth.insert(node.slug.clone(), level);
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

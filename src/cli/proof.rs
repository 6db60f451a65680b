//! `tocsin alert proof`: the proof of an alert, as a PDF and a CSV of its recipients.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;

use super::ops::{database, load};
use crate::{
    model::{AlertId, PublicIds},
    store,
};

#[derive(Subcommand)]
pub enum AlertCommand {
    /// The proof that an alert was sent: who sent it and when, its texts, its recipients and
    /// what became of each message, its audit entries; a PDF in French and a CSV (masked).
    Proof {
        /// `alr_…`
        id: String,
        /// Where to write the PDF.
        #[arg(long)]
        pdf: PathBuf,
        /// Where to write the recipients, one line each (addresses masked).
        #[arg(long)]
        csv: Option<PathBuf>,
    },
}

pub async fn run(path: Option<&Path>, command: AlertCommand) -> anyhow::Result<()> {
    let AlertCommand::Proof { id, pdf, csv } = command;
    let id: AlertId = id.parse().map_err(|e| anyhow::anyhow!("alert id: {e}"))?;
    let config = load(path)?;
    let db = database(&config).await?;
    let ring = super::keys::ring(&config, &db).await?;
    let ids = PublicIds::new(&store::platform::public_ids_key(&db, &ring).await?);
    let proof = crate::proof::make(&db, &ids, id, chrono::Utc::now()).await?;
    std::fs::write(&pdf, &proof.pdf).with_context(|| format!("--pdf {}", pdf.display()))?;
    if let Some(csv) = &csv {
        std::fs::write(csv, &proof.csv).with_context(|| format!("--csv {}", csv.display()))?;
    }
    eprintln!("proof of {id} written to {}", pdf.display());
    Ok(())
}

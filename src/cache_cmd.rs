//! `mlytiles cache_cmd` (being built; see the issue).

/// (being built)
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: &Args) -> anyhow::Result<()> {
    anyhow::bail!("not built yet")
}

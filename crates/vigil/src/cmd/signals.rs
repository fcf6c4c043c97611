//! `vigil signals`.
/// Arguments of `vigil signals`.
#[derive(clap::Args)]
pub struct Args {}
/// Run `vigil signals`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    Ok(())
}

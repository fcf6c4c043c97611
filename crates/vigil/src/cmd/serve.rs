//! `vigil serve`: the patient-monitoring web application (vigil-server) over SQLite or PostgreSQL.
use std::io::BufRead as _;
use std::net::SocketAddr;

use anyhow::Context;

/// Arguments of `vigil serve` (examples are in `main.rs`, shown after `--help`).
#[derive(clap::Args)]
pub struct Args {
    /// Database: sqlite://FILE (created and migrated on first start) or postgres://USER[:PASS]@HOST[:PORT]/DB.
    #[arg(long, default_value = "sqlite://vigil.db")]
    pub db: String,
    /// Address to listen on (port 0 picks a free port; the chosen address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Create an admin account and exit (password from VIGIL_ADMIN_PASSWORD, else one line of stdin).
    #[arg(long)]
    pub create_admin: bool,
    /// Login name of the admin made by --create-admin.
    #[arg(long, default_value = "admin")]
    pub admin_user: String,
    /// Mark session cookies Secure (serve behind HTTPS).
    #[arg(long)]
    pub secure_cookies: bool,
}

/// Run `vigil serve`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let db = vigil_server::db::Db::connect(&args.db).await?;
        if args.create_admin {
            let password = match std::env::var("VIGIL_ADMIN_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    eprintln!("password for {:?} (one line on stdin):", args.admin_user);
                    let mut line = String::new();
                    std::io::stdin()
                        .lock()
                        .read_line(&mut line)
                        .context("reading the admin password from stdin")?;
                    line.trim_end_matches(['\r', '\n']).to_string()
                }
            };
            let id = vigil_server::create_admin(&db, &args.admin_user, &password).await?;
            println!(
                "vigil serve: created admin {:?} (user id {id}) in {}",
                args.admin_user,
                vigil_server::db::redact(&args.db)
            );
            return Ok(());
        }
        let config = vigil_server::Config {
            db_url: args.db.clone(),
            listen: args.listen,
            secure_cookies: args.secure_cookies,
        };
        vigil_server::serve(db, &config, |addr| {
            println!(
                "vigil serve: listening on http://{addr} (database {})",
                vigil_server::db::redact(&args.db)
            );
        })
        .await
    })
}

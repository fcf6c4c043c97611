//! `vigil-cluster`: vigil's jobs on an Apache DataFusion Ballista cluster.
//!
//! One binary with four subcommands: `scheduler` and `executor` start Ballista's own scheduler and
//! executor (embedded as libraries, with Ballista's flag names) with vigil's functions registered
//! ([`udf`]); `run-interactions` and `run-signals` are the client side that `vigil interactions
//! --cluster` and `vigil signals --cluster` hand their job to ([`jobs`]). This crate is outside the
//! vigil workspace: Ballista pins its own DataFusion and arrow, and meets the core only through the
//! Parquet files of the store and of the result. See docs/cluster.md.

mod jobs;
mod udf;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{anyhow, Context, Result};
use ballista_core::utils::default_session_builder;
use clap::{ArgMatches, Command, FromArgMatches};
use datafusion::execution::{FunctionRegistry, SessionState};
use datafusion::prelude::SessionConfig;

/// Address both servers bind to unless `--bind-host` says otherwise: loopback, so that nothing
/// is exposed to the network by accident (Ballista's own default is 0.0.0.0).
const DEFAULT_BIND_HOST: &str = "127.0.0.1";

const ABOUT: &str = "vigil's interaction and signal jobs on an Apache DataFusion Ballista cluster";

fn cli() -> Command {
    // Ballista's own command lines, with loopback as the default address.
    let loopback = |a: clap::Arg| a.default_value(DEFAULT_BIND_HOST);
    let scheduler = <ballista_scheduler::config::Config as clap::CommandFactory>::command()
        .name("scheduler")
        .about("Start a Ballista scheduler with vigil's functions (Ballista's scheduler flags)")
        .mut_arg("bind_host", loopback)
        .mut_arg("external_host", |a| {
            a.default_value(DEFAULT_BIND_HOST)
                .help("Host name or IP address so that executors can connect to this scheduler (default: 127.0.0.1; set it with --bind-host 0.0.0.0)")
        });
    let executor = <ballista_executor::config::Config as clap::CommandFactory>::command()
        .name("executor")
        .about("Start a Ballista executor with vigil's functions (Ballista's executor flags)")
        .mut_arg("bind_host", loopback);
    let run_interactions = <jobs::JobArgs as clap::Args>::augment_args(
        Command::new("run-interactions").about(
            "Run `vigil interactions` on the cluster and write its rows as Parquet (used by `vigil interactions --cluster`)",
        ),
    );
    let run_signals = <jobs::JobArgs as clap::Args>::augment_args(Command::new("run-signals").about(
        "Run `vigil signals` on the cluster and write its rows as Parquet (used by `vigil signals --cluster`)",
    ));
    Command::new("vigil-cluster")
        .about(ABOUT)
        .version(env!("CARGO_PKG_VERSION"))
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(scheduler)
        .subcommand(executor)
        .subcommand(run_interactions)
        .subcommand(run_signals)
}

fn main() {
    let matches = cli().get_matches();
    let result = (|| -> Result<()> {
        // The scheduler and executor binaries of Ballista run on a 32 MiB-stack multi-thread runtime.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_stack_size(32 * 1024 * 1024)
            .build()?;
        match matches.subcommand() {
            Some(("scheduler", m)) => runtime.block_on(scheduler(m)),
            Some(("executor", m)) => runtime.block_on(executor(m)),
            Some(("run-interactions", m)) => {
                runtime.block_on(jobs::interactions(&jobs::JobArgs::from_arg_matches(m)?))
            }
            Some(("run-signals", m)) => {
                runtime.block_on(jobs::signals(&jobs::JobArgs::from_arg_matches(m)?))
            }
            _ => unreachable!("clap requires a subcommand"),
        }
    })();
    if let Err(e) = result {
        eprintln!("vigil-cluster: error: {e:#}");
        std::process::exit(1);
    }
}

/// Warns when a server listens on every interface.
fn warn_if_exposed(what: &str, host: &str) {
    if host == "0.0.0.0" || host == "::" {
        eprintln!(
            "vigil-cluster: warning: the {what} listens on every network interface ({host}); Ballista has no authentication: anyone who reaches the port can run queries and read the files the executors can read"
        );
    }
}

fn init_logging(level: &str) {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| level.to_owned());
    let _ = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .try_init();
}

async fn scheduler(m: &ArgMatches) -> Result<()> {
    use ballista_scheduler::cluster::BallistaCluster;
    use ballista_scheduler::config::{Config, SchedulerConfig};
    use ballista_scheduler::scheduler_process::start_server;

    let opt = Config::from_arg_matches(m)?;
    init_logging(&opt.log_level_setting);
    warn_if_exposed("scheduler", &opt.bind_host);
    let addr: SocketAddr = format!("{}:{}", opt.bind_host, opt.bind_port)
        .parse()
        .with_context(|| {
            format!(
                "--bind-host {} --bind-port {}",
                opt.bind_host, opt.bind_port
            )
        })?;
    let config: SchedulerConfig = opt.try_into().map_err(|e| anyhow!("scheduler: {e}"))?;
    // The scheduler decodes the client's logical plans, which name vigil's functions.
    let config = config.with_override_session_builder(Arc::new(
        |session_config: SessionConfig| -> datafusion::common::Result<SessionState> {
            let mut state = default_session_builder(session_config)?;
            for f in udf::all() {
                state.register_udf(Arc::new(f))?;
            }
            Ok(state)
        },
    ));
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| anyhow!("scheduler: {e}"))?;
    start_server(cluster, addr, Arc::new(config))
        .await
        .map_err(|e| anyhow!("scheduler on {addr}: {e}"))
}

async fn executor(m: &ArgMatches) -> Result<()> {
    use ballista_core::registry::BallistaFunctionRegistry;
    use ballista_executor::config::Config;
    use ballista_executor::executor_process::{start_executor_process, ExecutorProcessConfig};
    use ballista_executor::health::spawn_health_server;

    let opt = Config::from_arg_matches(m)?;
    init_logging(&opt.log_level_setting);
    warn_if_exposed("executor", &opt.bind_host);
    let health_addr: SocketAddr = format!("{}:{}", opt.bind_host, opt.bind_health_port)
        .parse()
        .with_context(|| format!("--bind-host {} --bind-health-port", opt.bind_host))?;
    let mut config: ExecutorProcessConfig = opt.try_into().map_err(|e| anyhow!("executor: {e}"))?;
    // The executors decode and run the physical plans, which call vigil's functions.
    let mut registry = BallistaFunctionRegistry::default();
    for f in udf::all() {
        registry
            .scalar_functions
            .insert(f.name().to_owned(), Arc::new(f));
    }
    config.override_function_registry = Some(Arc::new(registry));
    // `/healthz` and `/readyz`, as Ballista's executor binary serves them.
    let (stop_health, stopped) = tokio::sync::oneshot::channel();
    let health = spawn_health_server(health_addr, config.health.clone(), stopped);
    let result = start_executor_process(Arc::new(config)).await;
    let _ = stop_health.send(());
    let _ = health.await;
    result.map_err(|e| anyhow!("executor: {e}"))
}

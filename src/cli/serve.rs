//! `breakeven serve`: the what-if page on this machine.

use super::common;
use breakeven::serve::{self, AppState, Settings};
use breakeven::Catalogue;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

pub const EXAMPLES: &str = "Examples:
  breakeven serve                      # http://127.0.0.1:8787/, this machine only
  breakeven serve --port 0 --open      # a free port, opened in the browser
  breakeven serve --listen 0.0.0.0     # reachable from the network (no login: a trusted network only)

The page runs what `breakeven run` runs, on the shipped scenarios or one pasted in, capped at
--max-paths paths a run; its link holds the scenario, every override and the seed.";

/// Flags of `serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8787)]
    pub port: u16,
    /// Open the page in the default browser once listening.
    #[arg(long)]
    pub open: bool,
    /// Address to listen on instead of 127.0.0.1 (loopback); another address lets other
    /// machines reach the page, which has no login.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<IpAddr>,
    /// Output folder: the last report downloaded from the page is kept there.
    #[arg(long, value_name = "DIR", default_value = "out/serve")]
    pub out: PathBuf,
    /// Most paths a run from the page simulates (the scenario's own count, capped).
    #[arg(long, default_value_t = serve::MAX_PATHS, value_parser = common::count_u64)]
    pub max_paths: u64,
    /// Most runs at once; further requests are told to wait.
    #[arg(long, default_value_t = 2)]
    pub max_runs: usize,
}

pub fn run(catalogue: &Catalogue, a: Args) -> anyhow::Result<()> {
    if a.max_paths == 0 || a.max_paths > common::MAX_SAMPLES {
        return Err(super::InputError(format!(
            "--max-paths: {} is not a number of paths for a run; expected 1 to {}",
            a.max_paths,
            common::MAX_SAMPLES
        ))
        .into());
    }
    if a.max_runs == 0 || a.max_runs > 64 {
        return Err(super::InputError(format!(
            "--max-runs: {} is not a number of runs at once; expected 1 to 64",
            a.max_runs
        ))
        .into());
    }
    let ip = a.listen.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let mut settings = Settings::new(a.out.clone());
    settings.max_paths = a.max_paths;
    settings.max_runs = a.max_runs;
    let app = serve::router(AppState::new(catalogue.clone(), settings));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_io()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(SocketAddr::new(ip, a.port))
            .await
            .map_err(|e| {
                super::InputError(format!(
                    "--port: cannot listen on {}: {e}; expected a free port (or --port 0 for any)",
                    SocketAddr::new(ip, a.port)
                ))
            })?;
        let addr = listener.local_addr()?;
        let url = match addr.ip() {
            ip if ip.is_unspecified() => format!("http://127.0.0.1:{}/", addr.port()),
            _ => format!("http://{addr}/"),
        };
        let reach = if addr.ip().is_loopback() {
            "loopback only: other machines cannot reach it".to_string()
        } else {
            format!(
                "listening on {addr}: other machines that can reach this address can use the page, which has no login"
            )
        };
        println!("breakeven serve: the what-if page is at {url} ({reach}); report downloads are kept in {}; Ctrl-C stops it", common::shown(&a.out));
        if a.open {
            open(&url);
        }
        // Ctrl-C sets the process's cancel flag (cli::dispatch installs it): stop then. The
        // server writes only through staged folders, which a later command cleans up.
        std::thread::spawn(|| {
            let flag = common::cancel_flag();
            while !flag.load(std::sync::atomic::Ordering::SeqCst) {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            println!("breakeven serve: stopped (Ctrl-C)");
            std::process::exit(0);
        });
        axum::serve(listener, app).await?;
        anyhow::Ok(())
    })
}

/// The page in the default browser; a note if there is none.
fn open(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    };
    if let Err(e) = std::process::Command::new(opener).arg(url).spawn() {
        common::note(format!(
            "note: could not open a browser ({opener}: {e}); open {url} yourself"
        ));
    }
}

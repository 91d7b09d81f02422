//! The `breakeven` command line: parse, validate, run, write. All the work is in the library.

mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Like other Unix tools, end quietly when the reader of our output goes away
    // (`breakeven models | head`), instead of panicking on a failed print.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of a signal before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let args = cli::Cli::parse();
    match cli::dispatch(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let code = cli::exit_code(&e);
            eprintln!("error: {e:#}");
            ExitCode::from(code)
        }
    }
}

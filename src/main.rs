//! The `breakeven` command line: parse, validate, run, write. All the work is in the library.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    // Like other Unix tools, end quietly when the reader of our output goes away
    // (`breakeven models | head`), instead of panicking on a failed print.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of a signal before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let args = cli::parse();
    // A panic is a bug; say so in one line, without a backtrace, and exit 1.
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("error: internal error{at}: {what}; this is a bug in breakeven, please report it with the command and its input files");
    }));
    match std::panic::catch_unwind(|| cli::dispatch(args)) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            let code = cli::exit_code(&e);
            if code == 130 {
                // Ctrl-C: every command stops the same way, before writing anything.
                eprintln!(
                    "{} (Ctrl-C); nothing written, earlier results are unchanged",
                    describe(&e)
                );
            } else {
                anstream::eprintln!(
                    "{} {}{}",
                    cli::style::error("error:"),
                    describe(&e),
                    disk_full_note(&e)
                );
            }
            ExitCode::from(code)
        }
        Err(_) => ExitCode::from(1),
    }
}

/// A full disk is said in so many words, with what it means for the output folder: every
/// command stages its files and swaps them in only when all are written.
fn disk_full_note(e: &anyhow::Error) -> &'static str {
    let full = e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(|io| {
            matches!(
                io.kind(),
                std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
            )
        })
    });
    if full {
        "\nthe disk is full; nothing was changed in the output folder, which keeps its previous results"
    } else {
        ""
    }
}

/// The error and its causes, `a: b: c`, leaving out a cause whose text is already shown (an
/// I/O error's message is both in its own text and its source's). Each line is escaped, so
/// a name or path echoed back cannot move the terminal's cursor.
fn describe(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out.split('\n')
        .map(|line| breakeven::names::escape(line).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

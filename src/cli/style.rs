//! Colour on a terminal only. `anstream` decides, as clap does for `--help`: no colour when
//! the stream is not a terminal, when `NO_COLOR` is set, or with `--color never`. Text is
//! written with its styles and stripped of them on the way out where colour is off.

use anstyle::{AnsiColor, Effects, Style};

/// `--color`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour on a terminal, unless NO_COLOR is set.
    #[default]
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// Make `choice` the choice of every stream this process writes.
pub fn init(choice: ColorChoice) {
    let c = match choice {
        ColorChoice::Auto => anstream::ColorChoice::Auto,
        ColorChoice::Always => anstream::ColorChoice::Always,
        ColorChoice::Never => anstream::ColorChoice::Never,
    };
    c.write_global();
}

fn paint(s: &str, style: Style) -> String {
    format!("{style}{s}{style:#}")
}

/// Headings and the answer.
pub fn bold(s: &str) -> String {
    paint(s, Style::new().effects(Effects::BOLD))
}

/// `error:`.
pub fn error(s: &str) -> String {
    paint(
        s,
        Style::new()
            .fg_color(Some(AnsiColor::Red.into()))
            .effects(Effects::BOLD),
    )
}

/// `warning:`.
pub fn warning(s: &str) -> String {
    paint(
        s,
        Style::new()
            .fg_color(Some(AnsiColor::Yellow.into()))
            .effects(Effects::BOLD),
    )
}

/// Good news (`ok`).
pub fn good(s: &str) -> String {
    paint(
        s,
        Style::new()
            .fg_color(Some(AnsiColor::Green.into()))
            .effects(Effects::BOLD),
    )
}

/// Print `text` to stdout, colour stripped where it is off.
pub fn print(text: &str) {
    use std::io::Write;
    let mut out = anstream::stdout();
    // A closed pipe ends the process quietly (SIGPIPE), as for print!.
    let _ = out.write_all(text.as_bytes());
}

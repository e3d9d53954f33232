//! Printing: human text (aligned, coloured on terminals), JSON documents, quiet mode.

use std::io::{IsTerminal, Write};

use anstyle::{AnsiColor, Style};
use serde::Serialize;
use unicode_width::UnicodeWidthStr;

/// Styles used in human output; anstream strips them when stdout is not a colour terminal
/// or NO_COLOR is set.
pub(crate) const BOLD: Style = Style::new().bold();
pub(crate) const GOOD: Style = AnsiColor::Green.on_default();
pub(crate) const WARN: Style = AnsiColor::Yellow.on_default();
pub(crate) const BAD: Style = AnsiColor::Red.on_default().bold();
pub(crate) const DIM: Style = Style::new().dimmed();

/// How a command prints.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Output {
    pub(crate) json: bool,
    pub(crate) quiet: bool,
}

impl Output {
    /// Whether human progress and results should be printed.
    pub(crate) fn human(self) -> bool {
        !self.json && !self.quiet
    }

    /// Prints a line of human output (nothing in JSON or quiet mode).
    pub(crate) fn line(self, text: impl AsRef<str>) {
        if self.human() {
            let mut out = anstream::stdout();
            // A closed pipe (`tt status | head`) is not worth an error.
            let _ = writeln!(out, "{}", text.as_ref());
        }
    }

    /// Prints lines of human output through one stream: a long table pays for the terminal and
    /// colour detection once, not once a line.
    pub(crate) fn lines(self, lines: impl IntoIterator<Item = impl AsRef<str>>) {
        if self.human() {
            let mut out = anstream::stdout().lock();
            for line in lines {
                // A closed pipe (`tt status | head`) is not worth an error.
                if writeln!(out, "{}", line.as_ref()).is_err() {
                    return;
                }
            }
        }
    }

    /// Prints the command's JSON document (only in JSON mode).
    pub(crate) fn json(self, value: &impl Serialize) -> anyhow::Result<()> {
        if self.json {
            // Through a Value, whose objects keep their members sorted: every document lists
            // them alphabetically, whatever order its struct declares them in.
            let text = serde_json::to_string_pretty(&serde_json::to_value(value)?)?;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{text}");
        }
        Ok(())
    }

    /// Whether an interactive progress bar may be drawn.
    pub(crate) fn progress_bars(self) -> bool {
        self.human() && std::io::stderr().is_terminal() && std::io::stdout().is_terminal()
    }
}

/// The JSON document of a command that failed without printing its own.
#[derive(Debug, Serialize)]
pub(crate) struct ErrorDocument<'a> {
    error: ErrorBody<'a>,
}

#[derive(Debug, Serialize)]
struct ErrorBody<'a> {
    message: &'a str,
    /// Whether it was a refusal for safety (exit code 4).
    refused: bool,
}

impl<'a> ErrorDocument<'a> {
    pub(crate) fn new(message: &'a str, refused: bool) -> Self {
        Self {
            error: ErrorBody { message, refused },
        }
    }
}

/// `text` in `style` (the escape codes are removed later where colour is off).
pub(crate) fn paint(style: Style, text: impl std::fmt::Display) -> String {
    format!("{style}{text}{style:#}")
}

/// A checksum as people compare it by eye: its first 12 hex digits.
pub(crate) fn short_checksum(checksum: &str) -> String {
    checksum.chars().take(12).collect()
}

/// Lays out rows in columns separated by two spaces, padding by visible width.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> Vec<String> {
    let width = |text: &str| visible_width(text);
    let mut widths: Vec<usize> = header.iter().map(|h| width(h)).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(width(cell));
            }
        }
    }
    let render = |cells: Vec<String>| {
        let last = cells.len().saturating_sub(1);
        cells
            .into_iter()
            .enumerate()
            .map(|(i, cell)| {
                if i == last {
                    cell
                } else {
                    let pad = widths[i].saturating_sub(width(&cell));
                    format!("{cell}{}", " ".repeat(pad))
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut lines = vec![paint(
        BOLD,
        render(header.iter().map(|h| h.to_string()).collect()),
    )];
    lines.extend(rows.iter().map(|row| render(row.clone())));
    lines
}

/// Width of `text` in terminal cells (wide CJK characters take two, combining marks none),
/// not counting ANSI escape sequences.
fn visible_width(text: &str) -> usize {
    anstream::adapter::strip_str(text)
        .map(UnicodeWidthStr::width)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_by_visible_width() {
        let rows = vec![
            vec!["001".to_string(), paint(GOOD, "applied"), "x".to_string()],
            vec!["0010".to_string(), "pending".to_string(), "y".to_string()],
        ];
        let lines: Vec<String> = table(&["VERSION", "STATE", "NAME"], &rows)
            .into_iter()
            .map(|l| anstream::adapter::strip_str(&l).to_string())
            .collect();
        assert_eq!(
            lines,
            [
                "VERSION  STATE    NAME",
                "001      applied  x",
                "0010     pending  y"
            ]
        );
    }

    #[test]
    fn wide_and_combining_characters_align_by_terminal_cells() {
        let rows = vec![
            vec!["日本".to_string(), "x".to_string()],
            vec!["e\u{301}e".to_string(), "y".to_string()],
        ];
        let lines = table(&["NAME", "N"], &rows);
        let lines: Vec<&str> = lines.iter().skip(1).map(String::as_str).collect();
        assert_eq!(lines, ["日本  x", "e\u{301}e    y"]);
    }
}

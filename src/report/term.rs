//! Terminal colours: whether to use them, and ANSI escapes around a text.
//!
//! Colours are used only when the output is a terminal and `NO_COLOR` is unset or empty
//! (<https://no-color.org>). Files and pipes never get escape codes.

use std::ffi::OsStr;

/// True when output to a stream should be coloured: it is a terminal and `NO_COLOR` (its
/// value passed here) is unset or empty.
pub fn use_color(is_terminal: bool, no_color: Option<&OsStr>) -> bool {
    is_terminal && no_color.is_none_or(OsStr::is_empty)
}

/// The decision for standard output in this process.
pub fn stdout_color() -> bool {
    use std::io::IsTerminal;
    use_color(
        std::io::stdout().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    )
}

/// What a coloured text means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Pass,
    Fail,
    Error,
    Warn,
}

/// `text` in the tone's colour (bold for pass/fail/error) when `color`, else unchanged.
pub fn paint(text: &str, tone: Tone, color: bool) -> String {
    if !color {
        return text.to_string();
    }
    let code = match tone {
        Tone::Pass => "1;32",
        Tone::Fail => "1;31",
        Tone::Error => "1;35",
        Tone::Warn => "33",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// `text` made safe for a terminal: every control character but the line feed is shown
/// escaped (`\r`, `\u{1b}`), except the colour sequences [`paint`] writes (`ESC [ digits
/// and ; m`). A file or ROI name can then neither split a line nor move the cursor.
pub fn terminal_safe(text: &str) -> std::borrow::Cow<'_, str> {
    let is_colour = |rest: &str| {
        rest.strip_prefix("\x1b[").is_some_and(|r| {
            let end = r.find(|c: char| !(c.is_ascii_digit() || c == ';'));
            end.is_some_and(|e| r[e..].starts_with('m'))
        })
    };
    if !text.chars().any(|c| c.is_control() && c != '\n') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        if c.is_control() && c != '\n' && !(c == '\x1b' && is_colour(&text[i..])) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(use_color(true, None));
        assert!(use_color(true, Some(OsStr::new(""))));
        assert!(!use_color(true, Some(OsStr::new("1"))));
        assert!(!use_color(true, Some(OsStr::new("0"))));
        assert!(!use_color(false, None));
        assert!(!use_color(false, Some(OsStr::new(""))));
    }

    #[test]
    fn paint_adds_escapes_only_when_asked() {
        assert_eq!(paint("PASS", Tone::Pass, false), "PASS");
        let p = paint("FAIL", Tone::Fail, true);
        assert!(p.starts_with("\x1b[1;31m") && p.ends_with("\x1b[0m") && p.contains("FAIL"));
    }

    #[test]
    fn terminal_safe_escapes_controls_but_keeps_lines_and_colours() {
        let coloured = paint("FAIL", Tone::Fail, true);
        assert_eq!(
            terminal_safe(&format!("a\n{coloured}\n")),
            format!("a\n{coloured}\n")
        );
        assert_eq!(terminal_safe("RD\r.dcm\t"), "RD\\r.dcm\\t");
        assert_eq!(terminal_safe("x\x1b]0;title\x07"), "x\\u{1b}]0;title\\u{7}");
        assert_eq!(terminal_safe("\x1b[2J"), "\\u{1b}[2J");
    }
}

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

/// The width tables and long lines of standard output are fitted to: `COLUMNS` when it is
/// a positive number, else the terminal's width, else `None` (a file or pipe: no wrapping,
/// one table row per line).
pub fn stdout_width() -> Option<usize> {
    use std::io::IsTerminal;
    let columns = std::env::var("COLUMNS").ok();
    width_from(columns.as_deref(), std::io::stdout().is_terminal(), || {
        console::Term::stdout()
            .size_checked()
            .map(|(_, cols)| usize::from(cols))
    })
}

/// [`stdout_width`]'s decision from its inputs.
fn width_from(
    columns: Option<&str>,
    is_terminal: bool,
    terminal_cols: impl FnOnce() -> Option<usize>,
) -> Option<usize> {
    match columns.and_then(|c| c.trim().parse::<usize>().ok()) {
        Some(w) if w > 0 => Some(w),
        _ if is_terminal => terminal_cols().filter(|&w| w > 0),
        _ => None,
    }
}

/// `text` broken at spaces into lines of at most `width` characters; a word longer than
/// `width` is cut. An empty text is one empty line.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut len = 0;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let mut chars: Vec<char> = word.chars().collect();
        if len > 0 && len + 1 + chars.len() > width {
            lines.push(std::mem::take(&mut line));
            len = 0;
        }
        while len == 0 && chars.len() > width {
            lines.push(chars.drain(..width).collect());
        }
        if len > 0 {
            line.push(' ');
            len += 1;
        }
        len += chars.len();
        line.extend(chars);
    }
    if len > 0 || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// `text` as lines of at most `width` characters (`None`: one line), the lines after the
/// first indented by `indent` spaces.
pub fn wrap_indented(text: &str, width: Option<usize>, indent: usize) -> String {
    let Some(width) = width else {
        return text.to_string();
    };
    let mut lines = wrap(text, width).into_iter();
    let mut out = lines.next().unwrap_or_default();
    let rest: Vec<String> = lines.collect();
    if !rest.is_empty() {
        let tail = rest.join(" ");
        for l in wrap(&tail, width.saturating_sub(indent).max(1)) {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            out.push_str(&l);
        }
    }
    out
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
    fn width_from_columns_then_terminal_else_none() {
        assert_eq!(width_from(Some("100"), false, || None), Some(100));
        assert_eq!(width_from(Some("80"), true, || Some(200)), Some(80));
        assert_eq!(width_from(Some("x"), true, || Some(120)), Some(120));
        assert_eq!(width_from(None, false, || Some(120)), None);
        assert_eq!(width_from(Some("0"), false, || None), None);
    }

    #[test]
    fn wrap_breaks_at_spaces_and_cuts_long_words() {
        assert_eq!(wrap("a bb ccc dddd", 6), ["a bb", "ccc", "dddd"]);
        assert_eq!(wrap("abcdefgh ij", 3), ["abc", "def", "gh", "ij"]);
        assert_eq!(wrap("", 5), [""]);
        let text = "warning: optimal limit missed: PTV CI_RTOG < 1.2 (value 1.506)";
        let wrapped = wrap_indented(text, Some(20), 2);
        assert!(
            wrapped.lines().all(|l| l.chars().count() <= 20),
            "{wrapped}"
        );
        assert!(wrapped.lines().skip(1).all(|l| l.starts_with("  ")));
        assert_eq!(
            wrapped.split_whitespace().collect::<Vec<_>>(),
            text.split_whitespace().collect::<Vec<_>>()
        );
        assert_eq!(wrap_indented(text, None, 2), text);
    }

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

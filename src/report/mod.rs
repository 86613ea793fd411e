//! Everything that leaves the program for a person or a spreadsheet: CSV
//! that cannot inject formulas, terminal text that cannot carry escape
//! sequences, and the parse-health summary.

pub mod health;
pub mod scan;

use std::borrow::Cow;
use std::io::Write;

/// Makes log-derived text safe for a terminal: control characters (C0, DEL,
/// C1, including ESC) are shown as `\xNN` / `\u{..}` instead of being sent.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_control(c) {
            if (c as u32) < 0x100 {
                out.push_str(&format!("\\x{:02x}", c as u32));
            } else {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn is_control(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Makes a text cell safe to open in a spreadsheet: a value that a
/// spreadsheet would read as a formula (leading `=`, `+`, `-`, `@`, tab or
/// carriage return) gets a leading `'`. Apply to text from logs, not to
/// numbers the program formatted itself.
pub fn spreadsheet_safe(text: &str) -> Cow<'_, str> {
    let risky = match text.as_bytes() {
        [b'=' | b'+' | b'@' | b'\t' | b'\r' | b'\n', ..] => true,
        // A leading `-` starts a formula only with operators or calls after
        // it; plain tokens such as `-1` or a base64url request id are data.
        [b'-', rest @ ..] => !rest
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b'=' | b'/')),
        _ => false,
    };
    if risky {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// Undoes [`spreadsheet_safe`] on a cell read back from our own CSV.
pub fn spreadsheet_unsafe(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if matches!(spreadsheet_safe(rest), Cow::Owned(_)) => rest,
        _ => cell,
    }
}

/// A CSV writer for report files.
pub fn csv_writer(path: &std::path::Path) -> std::io::Result<csv::Writer<std::fs::File>> {
    let file = std::fs::File::create(path)?;
    Ok(csv::WriterBuilder::new().from_writer(file))
}

/// Writes to stdout, treating a closed pipe as success (`| head`).
pub fn print_stdout(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_never_reach_the_terminal() {
        assert_eq!(terminal_safe("ok"), "ok");
        assert_eq!(terminal_safe("a\x1b[31mred"), "a\\x1b[31mred");
        assert_eq!(terminal_safe("bell\x07\u{9b}"), "bell\\x07\\x9b");
        assert_eq!(terminal_safe("rtl\u{202e}x"), "rtl\\u{202e}x");
    }

    #[test]
    fn formula_like_cells_are_neutralised() {
        assert_eq!(spreadsheet_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(spreadsheet_safe("+1"), "'+1");
        assert_eq!(
            spreadsheet_safe("-2+3+cmd|' /C calc'!A0"),
            "'-2+3+cmd|' /C calc'!A0"
        );
        assert_eq!(
            spreadsheet_safe("-DjfY8AIE4goz_Q05EO1T0pfTCA=="),
            "-DjfY8AIE4goz_Q05EO1T0pfTCA=="
        );
        assert_eq!(spreadsheet_safe("-1"), "-1");
        for cell in ["=1+2", "-1", "'quoted", "@x", "-a(b)"] {
            assert_eq!(spreadsheet_unsafe(&spreadsheet_safe(cell)), cell);
        }
        assert_eq!(spreadsheet_safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(spreadsheet_safe("/index.html"), "/index.html");
        assert_eq!(spreadsheet_safe(""), "");
    }
}

//! One event, one line: the text log format writes field values as they are (`%value`), so a
//! provider's or a citizen's value holding a line break would start a line of its own, and a
//! forged `ERROR …` line would read as Tocsin's. Outside text is cleaned where it enters
//! (`model::text::from_outside`); this writer is the last guard for any value that was not:
//! within an event, a line break, a carriage return and (when colours are off) every other
//! control character are written escaped (`\n`, `\r`, `\u{1b}`). JSON logs escape them already.

use std::io::{self, Write};

use tracing_subscriber::fmt::MakeWriter;

/// Standard error, one line per event.
pub struct SingleLineStderr {
    /// Colours are on: the formatter's own escape sequences must pass.
    pub ansi: bool,
}

impl<'a> MakeWriter<'a> for SingleLineStderr {
    type Writer = SingleLine<io::Stderr>;

    fn make_writer(&'a self) -> Self::Writer {
        SingleLine {
            inner: io::stderr(),
            ansi: self.ansi,
        }
    }
}

/// Writes each buffer (the formatter hands over one whole event at a time) with every line
/// break but the last escaped.
pub struct SingleLine<W> {
    pub inner: W,
    pub ansi: bool,
}

impl<W: Write> Write for SingleLine<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write_all(&escaped(buf, self.ansi))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// `event` with its inner line breaks and carriage returns escaped, and its other control
/// characters too unless `ansi`. Works on bytes: ASCII control bytes never occur inside a
/// multi-byte UTF-8 sequence, and C1 controls (U+0080–U+009F) are `C2 80`–`C2 9F`.
fn escaped(event: &[u8], ansi: bool) -> Vec<u8> {
    let body = event.strip_suffix(b"\n").unwrap_or(event);
    let mut out = Vec::with_capacity(event.len() + 8);
    let mut bytes = body.iter().copied().peekable();
    while let Some(b) = bytes.next() {
        match b {
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.push(b),
            0x00..=0x1f | 0x7f if !ansi => {
                let _ = write!(out, "\\u{{{b:x}}}");
            }
            0xc2 if !ansi && bytes.peek().is_some_and(|n| (0x80..=0x9f).contains(n)) => {
                let next = bytes.next().expect("peeked");
                let _ = write!(out, "\\u{{{:x}}}", u32::from(next));
            }
            _ => out.push(b),
        }
    }
    if body.len() < event.len() {
        out.push(b'\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_stays_one_line() {
        let forged = "2026-12-05T01:00:00Z WARN report with an unknown status value=READ\n\
                      2026-12-05T01:00:00Z ERROR tocsin: forged\n";
        let out = String::from_utf8(escaped(forged.as_bytes(), false)).unwrap();
        assert_eq!(out.matches('\n').count(), 1, "{out}");
        assert!(out.contains(r"value=READ\n2026"), "{out}");
        let out = escaped("a\rb\u{1b}[2Jc\u{9b}d\0é\tf\n".as_bytes(), false);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a\\rb\\u{1b}[2Jc\\u{9b}d\\u{0}é\tf\n"
        );
        // With colours, the formatter's escape sequences pass; line breaks never do.
        let out = escaped("\u{1b}[33mWARN\u{1b}[0m a\nb\n".as_bytes(), true);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\u{1b}[33mWARN\u{1b}[0m a\\nb\n"
        );
    }

    #[test]
    fn a_tracing_event_with_a_line_break_in_a_value_is_one_line() {
        #[derive(Clone, Default)]
        struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl Write for Captured {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || SingleLine {
                inner: sink.clone(),
                ansi: false,
            })
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let value = "READ\n2026-12-05T01:00:00Z ERROR tocsin: forged";
            tracing::warn!(%value, "report with an unknown status");
        });
        let out = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(out.contains(r"READ\n2026"), "{out}");
    }
}

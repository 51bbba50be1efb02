//! Renderers: results as a table or JSON, and errors for the person at the terminal.
//!
//! They take domain values ([`Lookup`], [`Error`]) and an `impl Write`; they know nothing of
//! HTTP, credentials or whether the writer is a terminal (the caller says whether to colour).
//! Every piece of text that came from the server goes through [`neutralize`] before it is
//! written in table form, so escape sequences in a `Message` cannot drive the terminal.

use std::io::{self, Write};

use serde_json::Value;

use crate::error::{ApiFailure, Error};
use crate::operation::{Lookup, Status};

/// One row of output: an id, what the service last said about it, and what went wrong if
/// something did (an error, a timeout).
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    pub id: &'a str,
    pub lookup: Option<&'a Lookup>,
    pub error: Option<&'a Error>,
    /// A short word for the table when the entry did not end normally ("TIMEOUT", "INTERRUPTED").
    pub note: Option<&'a str>,
}

impl<'a> Entry<'a> {
    pub fn answered(lookup: &'a Lookup) -> Self {
        Entry {
            id: &lookup.requested_id,
            lookup: Some(lookup),
            error: None,
            note: None,
        }
    }
    pub fn failed(id: &'a str, error: &'a Error) -> Self {
        Entry {
            id,
            lookup: None,
            error: Some(error),
            note: None,
        }
    }
}

const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

/// Status text padded to `width`, coloured green/red/yellow when `color` is on.
pub fn paint_status(text: &str, status: Option<&Status>, width: usize, color: bool) -> String {
    let padded = format!("{text:<width$}");
    if !color {
        return padded;
    }
    let code = match status {
        Some(Status::Success) => GREEN,
        Some(Status::Failure) => RED,
        _ => YELLOW,
    };
    format!("{code}{padded}{RESET}")
}

/// Makes server text safe for a terminal: control characters (C0 but newline, DEL, C1) and
/// bidirectional overrides become visible escapes like `\u{1b}`; tabs become spaces.
pub fn neutralize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push('\n'),
            '\t' => out.push_str("    "),
            c if is_dangerous(c) => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    out
}

fn is_dangerous(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// The JSON document packed in a string, if the string is one (an object or an array).
pub fn unpack_json(text: &str) -> Option<Value> {
    let t = text.trim_start();
    if !(t.starts_with('{') || t.starts_with('[')) {
        return None;
    }
    serde_json::from_str(t).ok()
}

/// Text for display: packed JSON pretty-printed, anything else as is; neutralised either way.
fn display_text(text: &str) -> String {
    match unpack_json(text) {
        Some(v) => neutralize(&serde_json::to_string_pretty(&v).unwrap_or_default()),
        None => neutralize(text),
    }
}

/// Text for one table cell: one line, packed JSON compacted, cut to `max` characters.
fn brief(text: &str, max: usize) -> String {
    let one_line = match unpack_json(text) {
        Some(v) => serde_json::to_string(&v).unwrap_or_default(),
        None => text.split_whitespace().collect::<Vec<_>>().join(" "),
    };
    let safe = neutralize(&one_line);
    if safe.chars().count() <= max {
        safe
    } else {
        let mut cut: String = safe.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

const EXPIRED_TEXT: &str = "EXPIRED";
const EXPIRED_EXPLAINED: &str =
    "expired or unknown: the service has no Data for this id (ids are valid for one hour)";

/// How the table is drawn: colour, and the width to fit rows into (a terminal's), if any.
#[derive(Debug, Clone, Copy, Default)]
pub struct TableStyle {
    pub color: bool,
    /// Columns available; `None` (not a terminal): messages are cut at a fixed length.
    pub width: Option<usize>,
}

/// Message column width when the output is not a terminal.
const MESSAGE_WIDTH: usize = 80;

/// The table view: one entry as key/value lines, several as rows.
pub fn write_table(w: &mut impl Write, entries: &[Entry<'_>], style: TableStyle) -> io::Result<()> {
    match entries {
        [one] => write_one(w, one, style.color),
        many => write_rows(w, many, style),
    }
}

fn write_field(w: &mut impl Write, key: &str, value: &str, color: bool) -> io::Result<()> {
    const WIDTH: usize = 12;
    let mut lines = value.split('\n');
    let first = lines.next().unwrap_or("");
    if color {
        writeln!(w, "{BOLD}{key:<WIDTH$}{RESET}{first}")?;
    } else {
        writeln!(w, "{key:<WIDTH$}{first}")?;
    }
    for line in lines {
        writeln!(w, "{:WIDTH$}{line}", "")?;
    }
    Ok(())
}

fn write_one(w: &mut impl Write, entry: &Entry<'_>, color: bool) -> io::Result<()> {
    let op = entry.lookup.and_then(|l| l.operation.as_ref());
    let id = op
        .and_then(|o| o.operation_id.as_deref())
        .unwrap_or(entry.id);
    write_field(w, "Operation", &neutralize(id), color)?;
    let status_line = match (entry.lookup, op) {
        (Some(l), Some(_)) => {
            let text = l.status().map(|s| s.as_str()).unwrap_or("(none)");
            let mut s = paint_status(&neutralize(text), l.status(), 0, color);
            if let Some(note) = entry.note {
                s.push_str(&format!(" ({note})"));
            }
            s
        }
        (Some(_), None) => paint_status(EXPIRED_EXPLAINED, None, 0, color),
        (None, _) => {
            let text = entry.note.unwrap_or("ERROR");
            paint_status(text, Some(&Status::Failure), 0, color)
        }
    };
    write_field(w, "Status", &status_line, color)?;
    if let Some(op) = op {
        if let Some(m) = op.message.as_deref().filter(|m| !m.is_empty()) {
            write_field(w, "Message", &display_text(m), color)?;
        }
        if let Some(a) = op.arguments.as_deref().filter(|a| !a.is_empty()) {
            write_field(w, "Arguments", &display_text(a), color)?;
        }
    }
    if let Some(e) = entry.error {
        write_field(w, "Error", &neutralize(&e.message), color)?;
    }
    if let Some(rid) = entry.lookup.and_then(|l| l.request_id.as_deref()) {
        let rid = neutralize(rid);
        if color {
            write_field(w, "RequestId", &format!("{DIM}{rid}{RESET}"), color)?;
        } else {
            write_field(w, "RequestId", &rid, color)?;
        }
    }
    Ok(())
}

fn write_rows(w: &mut impl Write, entries: &[Entry<'_>], style: TableStyle) -> io::Result<()> {
    let color = style.color;
    let ids: Vec<String> = entries.iter().map(|e| neutralize(e.id)).collect();
    let id_width = ids
        .iter()
        .map(|i| i.chars().count())
        .chain([12])
        .max()
        .unwrap_or(12);
    let statuses: Vec<(String, Option<Status>)> = entries.iter().map(row_status).collect();
    let status_width = statuses
        .iter()
        .map(|(s, _)| s.chars().count())
        .chain([6])
        .max()
        .unwrap_or(6);
    // On a terminal the message fills what the id and status columns leave, at least 20.
    let message_width = style.width.map_or(MESSAGE_WIDTH, |w| {
        w.saturating_sub(id_width + status_width + 4).max(20)
    });
    let header = format!(
        "{:<id_width$}  {:<status_width$}  MESSAGE",
        "OPERATION ID", "STATUS"
    );
    if color {
        writeln!(w, "{BOLD}{header}{RESET}")?;
    } else {
        writeln!(w, "{header}")?;
    }
    for ((entry, id), (status, parsed)) in entries.iter().zip(&ids).zip(&statuses) {
        let message = match (entry.error, entry.lookup.and_then(|l| l.operation.as_ref())) {
            (Some(e), _) => brief(&e.message, message_width),
            (None, Some(op)) => brief(op.message.as_deref().unwrap_or(""), message_width),
            (None, None) => brief(
                "no Data: expired or unknown (ids are valid for one hour)",
                message_width,
            ),
        };
        let painted = paint_status(status, parsed.as_ref(), status_width, color);
        let line = format!("{id:<id_width$}  {painted}  {message}");
        writeln!(w, "{}", line.trim_end())?;
    }
    Ok(())
}

fn row_status(entry: &Entry<'_>) -> (String, Option<Status>) {
    if let Some(note) = entry.note {
        let parsed = entry.lookup.and_then(|l| l.status().cloned());
        return (note.to_string(), parsed);
    }
    match entry.lookup {
        Some(l) if l.operation.is_some() => match l.status() {
            Some(s) => (neutralize(s.as_str()), Some(s.clone())),
            None => ("(none)".into(), None),
        },
        Some(_) => (EXPIRED_TEXT.into(), None),
        None => ("ERROR".into(), Some(Status::Failure)),
    }
}

/// JSON text with the characters serde_json leaves raw but a terminal may obey (DEL, C1
/// controls, bidirectional overrides) written as `\uXXXX` escapes: the same JSON value, safe
/// to print. They can only stand inside strings, where the escape means the same character.
pub fn terminal_safe_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        // serde_json already escapes C0 inside strings; raw C0 outside them is JSON whitespace.
        if (is_dangerous(c) && !c.is_ascii_control()) || c == '\u{7f}' {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// One JSON document on one line (JSON Lines), terminal-safe as [`terminal_safe_json`].
pub fn json_line(doc: &Value) -> String {
    terminal_safe_json(&serde_json::to_string(doc).unwrap_or_default())
}

/// The JSON view (SPEC §4): each response body as received, pretty-printed; one entry as that
/// object, several as an array in argument order. An entry without an answer is the API's
/// error body when there was one, else `null`.
pub fn write_json(w: &mut impl Write, entries: &[Entry<'_>]) -> io::Result<()> {
    let values: Vec<Value> = entries.iter().map(entry_json).collect();
    let doc = match values.len() {
        1 => values.into_iter().next().unwrap_or(Value::Null),
        _ => Value::Array(values),
    };
    let text = serde_json::to_string_pretty(&doc).map_err(io::Error::from)?;
    writeln!(w, "{}", terminal_safe_json(&text))
}

fn entry_json(entry: &Entry<'_>) -> Value {
    if let Some(l) = entry.lookup {
        return l.body.clone();
    }
    match entry.error.and_then(|e| e.api_failure()) {
        Some(f) => api_failure_json(f),
        None => Value::Null,
    }
}

fn api_failure_json(f: &ApiFailure) -> Value {
    let mut m = serde_json::Map::new();
    let mut put = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            m.insert(k.into(), Value::String(v.clone()));
        }
    };
    put("RequestId", &f.request_id);
    put("HostId", &f.host_id);
    put("Code", &Some(f.code.clone()));
    put("Message", &f.message);
    put("Recommend", &f.recommend);
    Value::Object(m)
}

/// An error for stderr: what failed, the API code, message and request id when there is one,
/// and what to try next.
pub fn write_error(w: &mut impl Write, error: &Error, color: bool) -> io::Result<()> {
    let (red, bold, reset) = if color {
        (RED, BOLD, RESET)
    } else {
        ("", "", "")
    };
    writeln!(w, "{red}{bold}error:{reset} {}", neutralize(&error.message))?;
    if let Some(f) = error.api_failure() {
        writeln!(
            w,
            "  code:       {} (HTTP {})",
            neutralize(&f.code),
            f.http_status
        )?;
        if let Some(m) = &f.message {
            writeln!(w, "  message:    {}", neutralize(m))?;
        }
        if let Some(r) = &f.request_id {
            writeln!(w, "  request id: {}", neutralize(r))?;
        }
        if let Some(r) = &f.recommend {
            writeln!(w, "  see:        {}", neutralize(r))?;
        }
    }
    if let Some(h) = &error.hint {
        for (i, line) in h.lines().enumerate() {
            let lead = if i == 0 {
                "  hint:       "
            } else {
                "              "
            };
            writeln!(w, "{lead}{line}")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operation::Operation;
    use serde_json::json;

    fn lookup(id: &str, status: &str, message: &str) -> Lookup {
        Lookup {
            requested_id: id.into(),
            request_id: Some("REQ-1".into()),
            operation: Some(Operation {
                operation_id: Some(id.into()),
                status: Some(Status::parse(status)),
                message: Some(message.into()),
                arguments: None,
            }),
            body: json!({"RequestId": "REQ-1", "Data": {"Status": status}, "Extra": 1}),
        }
    }

    fn render(entries: &[Entry<'_>], color: bool) -> String {
        let mut out = Vec::new();
        write_table(&mut out, entries, TableStyle { color, width: None }).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn one_entry_is_key_value_lines_with_packed_json_pretty_printed() {
        let l = lookup("op_a", "SUCCESS", r#"{"step":"done","n":2}"#);
        let text = render(&[Entry::answered(&l)], false);
        assert_eq!(
            text,
            "Operation   op_a\nStatus      SUCCESS\nMessage     {\n              \"step\": \"done\",\n              \"n\": 2\n            }\nRequestId   REQ-1\n"
        );
    }

    #[test]
    fn several_entries_are_rows_and_colour_only_when_asked() {
        let a = lookup("op_a", "SUCCESS", "ok");
        let b = lookup("op_b", "FAILURE", "quota exceeded");
        let plain = render(&[Entry::answered(&a), Entry::answered(&b)], false);
        assert!(!plain.contains('\x1b'));
        let lines: Vec<&str> = plain.lines().collect();
        assert_eq!(lines[0], "OPERATION ID  STATUS   MESSAGE");
        assert_eq!(lines[1], "op_a          SUCCESS  ok");
        assert_eq!(lines[2], "op_b          FAILURE  quota exceeded");
        let coloured = render(&[Entry::answered(&a), Entry::answered(&b)], true);
        assert!(coloured.contains("\x1b[32mSUCCESS\x1b[0m"));
        assert!(coloured.contains("\x1b[31mFAILURE\x1b[0m"));
    }

    #[test]
    fn server_escape_sequences_are_neutralised() {
        let l = lookup("op_a", "RUNNING", "\x1b[2J\x1b]0;pwned\x07 hi\u{202e}x\r");
        let text = render(&[Entry::answered(&l)], false);
        assert!(!text.contains('\x1b'), "{text:?}");
        assert!(!text.contains('\x07'));
        assert!(!text.contains('\u{202e}'));
        assert!(!text.contains('\r'));
        assert!(text.contains("\\u{1b}[2J"));
    }

    #[test]
    fn neutralize_keeps_ordinary_unicode() {
        assert_eq!(neutralize("中文 é ✔"), "中文 é ✔");
        assert_eq!(neutralize("a\u{9b}b"), "a\\u{9b}b");
    }

    #[test]
    fn expired_entry_says_so() {
        let l = Lookup {
            requested_id: "op_old".into(),
            request_id: None,
            operation: None,
            body: json!({"RequestId": "R"}),
        };
        let text = render(&[Entry::answered(&l)], false);
        assert!(text.contains("expired or unknown"), "{text}");
    }

    #[test]
    fn json_is_the_body_as_received_and_an_array_for_several() {
        let a = lookup("op_a", "SUCCESS", "ok");
        let mut out = Vec::new();
        write_json(&mut out, &[Entry::answered(&a)]).unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v, a.body);
        let mut out = Vec::new();
        let err = Error::network("connection refused");
        write_json(
            &mut out,
            &[Entry::answered(&a), Entry::failed("op_b", &err)],
        )
        .unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v, json!([a.body, null]));
    }

    #[test]
    fn rows_fit_the_terminal_width() {
        let a = lookup("op_a", "SUCCESS", &"m".repeat(300));
        let b = lookup("op_b", "FAILURE", "short");
        let mut out = Vec::new();
        let style = TableStyle {
            color: false,
            width: Some(60),
        };
        write_table(&mut out, &[Entry::answered(&a), Entry::answered(&b)], style).unwrap();
        let text = String::from_utf8(out).unwrap();
        for line in text.lines() {
            assert!(line.chars().count() <= 60, "{line:?} is wider than 60");
        }
        assert!(text.lines().nth(1).unwrap().ends_with('…'), "{text}");
    }

    #[test]
    fn json_output_escapes_what_a_terminal_would_obey_and_keeps_the_value() {
        let body = json!({"Message": "a\u{9b}2Jb\u{202e}c\u{7f}d\u{1b}e 中"});
        let l = Lookup {
            body: body.clone(),
            ..lookup("op_a", "RUNNING", "")
        };
        let mut out = Vec::new();
        write_json(&mut out, &[Entry::answered(&l)]).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains(r"a\u009b2Jb\u202ec\u007fd\u001be 中"),
            "{text}"
        );
        assert!(!text.chars().any(is_dangerous_or_esc), "{text:?}");
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, body);
        let line = json_line(&body);
        assert!(!line.contains('\n') && !line.chars().any(is_dangerous_or_esc));
        assert_eq!(serde_json::from_str::<Value>(&line).unwrap(), body);
    }

    fn is_dangerous_or_esc(c: char) -> bool {
        is_dangerous(c) && c != '\n' && c != ' '
    }

    #[test]
    fn long_messages_are_cut_in_rows() {
        let long = "x".repeat(500);
        assert_eq!(brief(&long, 10).chars().count(), 10);
        assert!(brief(&long, 10).ends_with('…'));
    }

    #[test]
    fn errors_show_code_request_id_and_hint() {
        let f = ApiFailure {
            http_status: 400,
            code: "SignatureDoesNotMatch".into(),
            message: Some("bad".into()),
            request_id: Some("RID".into()),
            ..Default::default()
        };
        let e = Error::api(f, "the API refused the call").with_hint("check the secret");
        let mut out = Vec::new();
        write_error(&mut out, &e, false).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "error: the API refused the call\n  code:       SignatureDoesNotMatch (HTTP 400)\n  message:    bad\n  request id: RID\n  hint:       check the secret\n"
        );
    }
}

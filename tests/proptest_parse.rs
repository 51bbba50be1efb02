//! Hostile input, by property: the parsers of everything that comes from outside (the config
//! file, the aliyun CLI's `config.json`, the SDKs' credentials file, the service's answers)
//! never panic on arbitrary input and keep their invariants, and nothing the server says
//! reaches a terminal with a control or bidi character in it.
//!
//! The expected values are computed here (a reference decoder, a character-class check), never
//! with the code under test.

use bpstudio_op::client::decode_lookup;
use bpstudio_op::config::{parse, parse_aliyun, parse_credentials_file, to_toml};
use bpstudio_op::error::{ApiFailure, Error};
use bpstudio_op::operation::Status;
use bpstudio_op::render::{neutralize, write_error, write_json, write_table, Entry, TableStyle};
use proptest::prelude::*;
use serde_json::{json, Value};

/// What a terminal may interpret: C0 controls but newline, DEL, C1 controls, and the bidi
/// overrides and isolates (Trojan Source) — the characters [`neutralize`] must not let through.
fn is_unsafe_for_terminal(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn first_unsafe(text: &str) -> Option<(usize, char)> {
    text.char_indices()
        .find(|&(_, c)| is_unsafe_for_terminal(c))
}

/// Strings heavy in what attackers send: escape sequences (CSI, OSC with BEL and ST), C1
/// controls, bidi overrides, CR/BS overprinting, plus any character at all.
fn hostile_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("\x1b[2J\x1b[H".to_owned()),
        Just("\x1b]0;owned\x07".to_owned()),
        Just("\x1b]52;c;Y3VybCBldmlsLnNofHNo\x1b\\".to_owned()),
        Just("\u{9b}31m".to_owned()),
        Just("\u{202e}gnp.exe".to_owned()),
        Just("\u{2066}\u{2069}\u{200f}".to_owned()),
        Just("ok\rFAILURE\x08\x08".to_owned()),
        Just("\t{\"k\": \"\\u001b[5m\"}".to_owned()),
        Just("\n".to_owned()),
        "[a-z {}\":,]{0,8}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..12).prop_map(|v| v.concat())
}

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        // Floats of few digits: serde_json (without `float_roundtrip`) may change the last of
        // 17 significant digits, which is not what these properties are about.
        (any::<i32>(), 0u32..6).prop_map(|(m, e)| Value::from(f64::from(m) / 10f64.powi(e as i32))),
        any::<String>().prop_map(Value::String),
        hostile_text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("[A-Za-z]{1,10}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A success body as the service might send it: every field optional, any type.
fn answer_body() -> impl Strategy<Value = Value> {
    let status = prop_oneof![
        Just(json!("SUCCESS")),
        Just(json!("failure")),
        Just(json!("Running")),
        Just(json!("init")),
        hostile_text().prop_map(Value::String),
        json_value(),
    ];
    let data = (
        proptest::option::of(json_value()),
        proptest::option::of(status),
        proptest::option::of(hostile_text().prop_map(Value::String)),
        proptest::option::of(json_value()),
    )
        .prop_map(|(id, status, message, arguments)| {
            let mut m = serde_json::Map::new();
            for (k, v) in [
                ("OperationId", id),
                ("Status", status),
                ("Message", message),
                ("Arguments", arguments),
            ] {
                if let Some(v) = v {
                    m.insert(k.into(), v);
                }
            }
            Value::Object(m)
        });
    (
        proptest::option::of(json_value()),
        proptest::option::of(prop_oneof![Just(json!("200")), Just(json!(200))]),
        proptest::option::of(prop_oneof![data, json_value()]),
    )
        .prop_map(|(request_id, code, data)| {
            let mut m = serde_json::Map::new();
            if let Some(v) = request_id {
                m.insert("RequestId".into(), v);
            }
            if let Some(v) = code {
                m.insert("Code".into(), v);
            }
            if let Some(v) = data {
                m.insert("Data".into(), v);
            }
            Value::Object(m)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    // ---- render::neutralize ------------------------------------------------------------

    #[test]
    fn neutralized_text_has_nothing_a_terminal_interprets(s in any::<String>(), h in hostile_text()) {
        for text in [s, h] {
            let out = neutralize(&text);
            prop_assert_eq!(first_unsafe(&out), None, "{:?} -> {:?}", text, out);
            // Idempotent: what is safe stays as it is.
            prop_assert_eq!(neutralize(&out), out.clone());
            // Nothing is lost: every line of the input is still a line.
            prop_assert_eq!(out.matches('\n').count(), text.matches('\n').count());
        }
    }

    #[test]
    fn safe_text_is_left_alone(s in "[^\\p{Cc}\u{200e}\u{200f}\u{202a}-\u{202e}\u{2066}-\u{2069}]*") {
        prop_assert_eq!(neutralize(&s), s);
    }

    // ---- client::decode_lookup -----------------------------------------------------------

    #[test]
    fn any_bytes_give_an_answer_or_a_protocol_error(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        match decode_lookup("op_a", &bytes) {
            Ok(lookup) => {
                // Only a JSON object is an answer, and its body is kept exactly.
                let parsed: Value = serde_json::from_slice(&bytes).unwrap();
                prop_assert!(parsed.is_object());
                prop_assert_eq!(lookup.body, parsed);
            }
            Err(e) => {
                prop_assert_eq!(e.exit_code(), 5, "{}", e.message);
                prop_assert_eq!(first_unsafe(&e.message), None, "{:?}", e.message);
                prop_assert!(e.message.chars().count() < 200, "{}", e.message);
            }
        }
    }

    #[test]
    fn any_json_gives_an_answer_or_a_protocol_error(v in json_value()) {
        let bytes = serde_json::to_vec(&v).unwrap();
        match decode_lookup("op_a", &bytes) {
            Ok(lookup) => prop_assert_eq!(lookup.body, v),
            Err(e) => prop_assert_eq!(e.exit_code(), 5),
        }
    }

    #[test]
    fn answers_keep_every_field_and_read_status_case_insensitively(body in answer_body()) {
        let bytes = serde_json::to_vec(&body).unwrap();
        let data = body.get("Data").filter(|d| !d.is_null());
        match (decode_lookup("op_a", &bytes), data) {
            (Ok(lookup), None) => {
                // No Data: expired or unknown.
                prop_assert!(lookup.operation.is_none());
                prop_assert_eq!(lookup.body, body);
            }
            (Ok(lookup), Some(Value::Object(d))) => {
                prop_assert_eq!(&lookup.body, &body);
                let op = lookup.operation.as_ref().expect("Data is an object");
                let status = d.get("Status").filter(|s| !s.is_null());
                match (status, op.status.as_ref()) {
                    (None, None) => {}
                    (Some(Value::String(s)), Some(got)) => {
                        let want = match s.trim().to_ascii_uppercase().as_str() {
                            "INIT" => Status::Init,
                            "RUNNING" => Status::Running,
                            "SUCCESS" => Status::Success,
                            "FAILURE" => Status::Failure,
                            _ => Status::Other(s.clone()),
                        };
                        prop_assert_eq!(got, &want);
                    }
                    // A non-string Status is kept as its JSON text and is never terminal.
                    (Some(other), Some(got)) => {
                        prop_assert_eq!(got.as_str(), other.to_string());
                        prop_assert!(!got.is_terminal());
                    }
                    (s, got) => prop_assert!(false, "Status {:?} read as {:?}", s, got),
                }
                if let Some(Value::String(m)) = d.get("Message") {
                    prop_assert_eq!(op.message.as_deref(), Some(m.as_str()));
                }
            }
            (Ok(_), Some(other)) => prop_assert!(false, "Data {:?} accepted", other),
            (Err(e), d) => {
                // Only a Data that is not an object is refused.
                prop_assert!(d.is_some_and(|d| !d.is_object()), "{}", e.message);
                prop_assert_eq!(e.exit_code(), 5);
            }
        }
    }

    // ---- render: what the server says, on a terminal ----------------------------------------

    #[test]
    fn the_table_never_carries_server_control_characters(
        bodies in prop::collection::vec(answer_body(), 1..4),
    ) {
        let lookups: Vec<_> = bodies
            .iter()
            .filter_map(|b| decode_lookup("op_a", &serde_json::to_vec(b).unwrap()).ok())
            .collect();
        prop_assume!(!lookups.is_empty());
        let entries: Vec<Entry<'_>> = lookups.iter().map(Entry::answered).collect();
        let mut out = Vec::new();
        write_table(&mut out, &entries, TableStyle::default()).unwrap();
        let text = String::from_utf8(out).unwrap();
        prop_assert_eq!(first_unsafe(&text), None, "{}", text);
        // In colour, the only escapes are ours (SGR: ESC [ digits m).
        let mut out = Vec::new();
        write_table(&mut out, &entries, TableStyle { color: true, width: Some(80) }).unwrap();
        let colored = String::from_utf8(out).unwrap();
        let without_sgr = strip_sgr(&colored);
        prop_assert_eq!(first_unsafe(&without_sgr), None, "{}", colored);
        // JSON: valid, and equal to what was received.
        let mut out = Vec::new();
        write_json(&mut out, &entries).unwrap();
        let back: Value = serde_json::from_slice(&out).unwrap();
        let want: Vec<Value> = lookups.iter().map(|l| l.body.clone()).collect();
        if want.len() == 1 {
            prop_assert_eq!(back, want[0].clone());
        } else {
            prop_assert_eq!(back, Value::Array(want));
        }
        // No raw C0 control character (ESC included) in the JSON text either.
        prop_assert!(!out.iter().any(|&b| b < 0x20 && b != b'\n'), "{}", String::from_utf8_lossy(&out));
    }

    #[test]
    fn api_errors_on_stderr_never_carry_server_control_characters(
        code in hostile_text(),
        message in proptest::option::of(hostile_text()),
        request_id in proptest::option::of(hostile_text()),
        recommend in proptest::option::of(hostile_text()),
        status in 400u16..600,
    ) {
        let failure = ApiFailure {
            http_status: status,
            code: code.clone(),
            message,
            request_id,
            host_id: None,
            recommend,
            retry_after: None,
        };
        let error = Error::api(failure, format!("the API refused GetExecuteOperationResult for op_a: {code}"));
        let mut out = Vec::new();
        write_error(&mut out, &error, false).unwrap();
        let text = String::from_utf8(out).unwrap();
        prop_assert_eq!(first_unsafe(&text), None, "{}", text);
    }

    // ---- config::parse (bpstudio-op's TOML) ---------------------------------------------

    #[test]
    fn config_parsing_never_panics(s in any::<String>(), toml_ish in toml_like_text()) {
        for text in [s, toml_ish] {
            if let Err(e) = parse(&text) {
                let lines = text.lines().count().max(1);
                prop_assert!(e.line.is_none_or(|l| l >= 1 && l <= lines + 1), "line {:?} of {}", e.line, lines);
            }
        }
    }

    #[test]
    fn config_round_trips_through_to_toml(
        default in proptest::option::of("[a-z][a-z0-9_-]{0,10}"),
        profiles in prop::collection::btree_map(
            "[a-z][a-z0-9_-]{0,10}",
            (any::<String>(), any::<String>(), proptest::option::of(any::<String>()),
             proptest::option::of(prop_oneof![Just("cn-hangzhou"), Just("ap-southeast-1")])),
            0..4,
        ),
    ) {
        let mut text = String::new();
        if let Some(d) = &default {
            text.push_str(&format!("profile = {}\n", toml_string(d)));
        }
        for (name, (id, secret, token, region)) in &profiles {
            text.push_str(&format!("\n[profiles.{name}]\naccess_key_id = {}\naccess_key_secret = {}\n",
                                   toml_string(id), toml_string(secret)));
            if let Some(t) = token {
                text.push_str(&format!("security_token = {}\n", toml_string(t)));
            }
            if let Some(r) = region {
                text.push_str(&format!("region_id = \"{r}\"\n"));
            }
        }
        let config = parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(config.profile.as_deref(), default.as_deref());
        prop_assert_eq!(config.profiles.len(), profiles.len());
        for (name, (id, secret, token, _)) in &profiles {
            let p = config.profile(name).unwrap();
            prop_assert_eq!(p.access_key_id.as_deref(), Some(id.as_str()));
            prop_assert_eq!(p.access_key_secret.as_deref(), Some(secret.as_str()));
            prop_assert_eq!(p.security_token.as_deref(), token.as_deref());
            // The secret never shows in Debug (unless it is also a value that may show, such
            // as the access key id or the region, where it cannot be told apart).
            let debug = format!("{p:?}");
            let shown = [Some(id.as_str()), p.region_id.as_deref(), Some(name.as_str())];
            let coincides = shown.iter().flatten().any(|v| v.contains(secret.as_str()));
            if secret.len() >= 4 && !coincides {
                prop_assert!(!debug.contains(secret.as_str()), "{debug}");
            }
        }
        let again = parse(&to_toml(&config).unwrap()).unwrap();
        prop_assert_eq!(again, config);
    }

    #[test]
    fn config_errors_never_quote_a_secret(
        secret in "[A-Za-z0-9+/]{12,30}",
        bad in prop_oneof![Just("region_id = 12"), Just("output = \"xml\""), Just("mode = 7"),
                           Just("timeout = \"forever\""), Just("acces_key_secret = \"x\""), Just("= 1"),
                           Just("[profiles.x"), Just("access_key_secret = 1")],
    ) {
        let text = format!("[profiles.default]\naccess_key_id = \"LTAIx\"\naccess_key_secret = \"{secret}\"\n{bad}\n");
        if let Err(e) = parse(&text) {
            prop_assert!(!e.to_string().contains(&secret), "{}", e);
        }
        let text = format!("[profiles.default]\naccess_key_secret = {secret}\n");
        let e = parse(&text).unwrap_err();
        prop_assert!(!e.to_string().contains(&secret), "{}", e);
    }

    // ---- config::parse_aliyun (~/.aliyun/config.json) ----------------------------------

    #[test]
    fn aliyun_config_parsing_never_panics(s in any::<String>(), v in json_value()) {
        let _ = parse_aliyun(&s);
        let _ = parse_aliyun(&v.to_string());
        let wrapped = json!({"current": "default", "profiles": [v.clone()]});
        let _ = parse_aliyun(&wrapped.to_string());
        let wrapped = json!({"current": v, "profiles": []});
        let _ = parse_aliyun(&wrapped.to_string());
    }

    #[test]
    fn aliyun_config_errors_never_quote_a_secret(
        secret in "[A-Za-z0-9+/]{12,30}",
        field in prop_oneof![Just("access_key_secret"), Just("sts_token")],
        wrong in prop_oneof![Just(json!(1)), Just(json!(true)), Just(json!(["x"])), Just(json!({"a": 1}))],
        other in prop_oneof![Just("expired_seconds"), Just("mode"), Just("name")],
    ) {
        // A bad type in the secret's field itself, then beside a good secret.
        let text = json!({"current": "default", "profiles": [
            {"name": "default", "mode": "AK", "access_key_id": "LTAIx", field: wrong.clone()}]}).to_string();
        if let Err(e) = parse_aliyun(&text) {
            prop_assert!(!e.to_string().contains(&secret));
        }
        let mut profile = json!({"name": "default", "mode": "AK", "access_key_id": "LTAIx"});
        profile[field] = json!(secret);
        profile[other] = json!([secret.clone()]);
        let text = json!({"current": "default", "profiles": [profile]}).to_string();
        if let Err(e) = parse_aliyun(&text) {
            prop_assert!(!e.to_string().contains(&secret), "{}", e);
        }
    }

    // ---- config::parse_credentials_file (~/.alibabacloud/credentials.ini) ---------------

    #[test]
    fn credentials_file_parsing_never_panics(s in any::<String>(), lines in prop::collection::vec(ini_like_line(), 0..12)) {
        for text in [s, lines.join("\n")] {
            if let Err(e) = parse_credentials_file(&text) {
                let count = text.lines().count().max(1);
                prop_assert!(e.line.is_some_and(|l| l >= 1 && l <= count), "{:?} of {}", e.line, count);
            }
        }
    }

    #[test]
    fn credentials_file_sections_and_keys_are_read_back(
        sections in prop::collection::btree_map(
            "[A-Za-z][A-Za-z0-9_.-]{0,10}",
            prop::collection::btree_map("[a-z][a-z0-9_]{0,12}", "[A-Za-z0-9+/=_.-]{0,30}", 0..5),
            1..4,
        ),
        crlf in any::<bool>(),
        bom in any::<bool>(),
    ) {
        let nl = if crlf { "\r\n" } else { "\n" };
        let mut text = if bom { "\u{feff}".to_owned() } else { String::new() };
        text.push_str(&format!("# written by a test{nl}"));
        for (name, values) in &sections {
            text.push_str(&format!("[{name}]{nl}"));
            for (k, v) in values {
                text.push_str(&format!("{} = {v}{nl}", k.to_ascii_uppercase()));
            }
        }
        let file = parse_credentials_file(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text:?}")))?;
        let names: Vec<&str> = sections.keys().map(String::as_str).collect();
        prop_assert_eq!(file.section_names(), names);
        for (name, values) in &sections {
            let s = file.section(name).unwrap();
            for (k, v) in values {
                prop_assert_eq!(s.get(k), Some(v.as_str()));
                // Keys are case-insensitive, as in Python's configparser.
                prop_assert_eq!(s.get(&k.to_ascii_uppercase()), Some(v.as_str()));
            }
            // Debug shows the keys, never the values (they may be secrets).
            let debug = format!("{s:?}");
            for v in values.values().filter(|v| v.len() >= 8) {
                prop_assert!(!debug.contains(v.as_str()), "{}", debug);
            }
        }
    }
}

/// A TOML string literal (basic string, every character escaped as TOML needs).
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Text that looks like a config file: tables, keys (known, unknown, misspelt), values of
/// every type, and broken lines.
fn toml_like_text() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("profile"),
        Just("mode"),
        Just("access_key_id"),
        Just("access_key_secret"),
        Just("security_token"),
        Just("region_id"),
        Just("output"),
        Just("signature_version"),
        Just("timeout"),
        Just("interval"),
        Just("acess_key_id"),
        Just("ram_role_arn"),
    ];
    let value = prop_oneof![
        any::<String>().prop_map(|s| toml_string(&s)),
        Just("\"AK\"".to_owned()),
        Just("\"json\"".to_owned()),
        Just("\"v3\"".to_owned()),
        Just("\"90s\"".to_owned()),
        Just("\"1h30m\"".to_owned()),
        Just("\"-5s\"".to_owned()),
        any::<i64>().prop_map(|n| n.to_string()),
        Just("true".to_owned()),
        Just("[1, \"a\"]".to_owned()),
        Just("{ a = 1 }".to_owned()),
        Just("\"unterminated".to_owned()),
    ];
    let line = prop_oneof![
        "[a-z_-]{1,12}".prop_map(|n| format!("[profiles.{n}]")),
        Just("[profiles]".to_owned()),
        Just("[[profiles]]".to_owned()),
        (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
        any::<String>(),
    ];
    prop::collection::vec(line, 0..10).prop_map(|l| l.join("\n"))
}

fn ini_like_line() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9 ._-]{0,10}".prop_map(|n| format!("[{n}]")),
        Just("[unclosed".to_owned()),
        Just("[a] trailing".to_owned()),
        ("[A-Za-z_]{0,10}", any::<String>()).prop_map(|(k, v)| format!("{k} = {v}")),
        ("[A-Za-z_]{1,10}", any::<String>()).prop_map(|(k, v)| format!("{k}: {v} ; comment")),
        Just("# comment".to_owned()),
        Just("\u{feff}[default]".to_owned()),
        any::<String>(),
    ]
}

/// Removes the SGR sequences the renderer itself writes (`ESC [ digits ; m`).
fn strip_sgr(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            let mut seq = String::new();
            chars.next();
            while let Some(&d) = chars.peek() {
                chars.next();
                if d == 'm' {
                    break;
                }
                seq.push(d);
            }
            if seq.chars().all(|d| d.is_ascii_digit() || d == ';') {
                continue;
            }
            out.push_str("\x1b[");
            out.push_str(&seq);
            out.push('m');
            continue;
        }
        out.push(c);
    }
    out
}

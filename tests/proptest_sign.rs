//! Properties of the signer and the endpoint rules over arbitrary inputs, checked against
//! decoders and references written here, never against the code under test.

use bpstudio_op::endpoint::{is_loopback_url, parse_endpoint, resolve, Scheme};
use bpstudio_op::sign::{
    canonical_headers_v3, canonicalize_v1, form_encode, percent_encode, redact_authorization,
    redact_query, sign_v1, sign_v3, RpcRequest, SigningKey,
};
use proptest::prelude::*;

/// RFC 3986 percent-decoding; `plus_is_space` for form bodies.
fn decode(s: &str, plus_is_space: bool) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn params() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec(("[A-Za-z][A-Za-z0-9]{0,12}", any::<String>()), 0..6)
}

proptest! {
    #[test]
    fn percent_encode_is_unreserved_or_upper_hex_and_round_trips(s in any::<String>()) {
        let e = percent_encode(&s);
        let b = e.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                prop_assert!(i + 2 < b.len());
                for &h in &b[i + 1..i + 3] {
                    prop_assert!(h.is_ascii_digit() || (b'A'..=b'F').contains(&h), "{e}");
                }
                i += 3;
            } else {
                prop_assert!(b[i].is_ascii_alphanumeric() || b"-_.~".contains(&b[i]), "{e}");
                i += 1;
            }
        }
        prop_assert_eq!(decode(&e, false), Some(s));
    }

    #[test]
    fn form_encode_round_trips_in_order(p in params()) {
        let body = form_encode(&p);
        prop_assert!(!body.contains(' '));
        let decoded: Vec<(String, String)> = if p.is_empty() {
            prop_assert_eq!(&body, "");
            Vec::new()
        } else {
            body.split('&')
                .map(|kv| {
                    let (k, v) = kv.split_once('=').expect("k=v");
                    (decode(k, true).unwrap(), decode(v, true).unwrap())
                })
                .collect()
        };
        prop_assert_eq!(decoded, p);
    }

    #[test]
    fn canonical_v1_ignores_input_order(mut p in params(), seed in any::<u64>()) {
        p.sort_by(|a, b| a.0.cmp(&b.0));
        p.dedup_by(|a, b| a.0 == b.0);
        let sorted = canonicalize_v1(&p);
        let mut shuffled = p.clone();
        if !shuffled.is_empty() {
            let n = shuffled.len();
            shuffled.rotate_left((seed as usize) % n);
            shuffled.reverse();
        }
        prop_assert_eq!(canonicalize_v1(&shuffled), sorted);
    }

    #[test]
    fn v3_header_names_and_whitespace_do_not_matter(
        h in prop::collection::btree_map("[a-z][a-z0-9-]{0,10}", "[ -~]{0,20}", 1..6),
    ) {
        let plain: Vec<(String, String)> = h.iter().map(|(k, v)| (k.clone(), v.trim().to_owned())).collect();
        let messy: Vec<(String, String)> = h
            .iter()
            .rev()
            .map(|(k, v)| (k.to_ascii_uppercase(), format!("  {v}\t")))
            .collect();
        prop_assert_eq!(canonical_headers_v3(&messy), canonical_headers_v3(&plain));
    }

    #[test]
    fn signing_is_pure_and_secrets_stay_out_of_debug(
        secret in "[A-Za-z0-9]{16,30}",
        token in proptest::option::of("[A-Za-z0-9+/=]{20,40}"),
        op in any::<String>(),
        ts in "20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]Z",
        nonce in "[0-9a-f]{32}",
    ) {
        let req = RpcRequest {
            method: "POST",
            host: "bpstudio.cn-hangzhou.aliyuncs.com",
            action: "GetExecuteOperationResult",
            version: "2021-09-31",
            query: Vec::new(),
            form: vec![("OperationId".to_owned(), op)],
        };
        let key = SigningKey { access_key_id: "LTAIid", access_key_secret: &secret, security_token: token.as_deref() };
        let v1 = sign_v1(&req, &key, &ts, &nonce);
        let v3 = sign_v3(&req, &key, &ts, &nonce);
        prop_assert_eq!(&v1, &sign_v1(&req, &key, &ts, &nonce));
        prop_assert_eq!(&v3, &sign_v3(&req, &key, &ts, &nonce));
        for text in [format!("{key:?}"), format!("{v1:?}"), format!("{v3:?}"),
                     redact_query(&v1.query_string), redact_authorization(&v3.authorization)] {
            prop_assert!(!text.contains(&secret));
            if let Some(t) = &token {
                prop_assert!(!text.contains(t.as_str()));
                prop_assert!(!text.contains(&percent_encode(t)));
            }
            prop_assert!(!text.contains(&percent_encode(&v1.signature)));
            prop_assert!(!text.contains(&v3.signature));
        }
    }

    #[test]
    fn signers_never_panic_on_arbitrary_input(
        method in any::<String>(), host in any::<String>(), action in any::<String>(),
        version in any::<String>(), query in params(), form in params(),
        id in any::<String>(), secret in any::<String>(), token in proptest::option::of(any::<String>()),
        ts in any::<String>(), nonce in any::<String>(),
    ) {
        let req = RpcRequest { method: &method, host: &host, action: &action, version: &version, query, form };
        let key = SigningKey { access_key_id: &id, access_key_secret: &secret, security_token: token.as_deref() };
        let v1 = sign_v1(&req, &key, &ts, &nonce);
        let v3 = sign_v3(&req, &key, &ts, &nonce);
        // Whatever went in, what goes on the wire is plain ASCII without spaces.
        for wire in [&v1.query_string, &v1.body, &v3.query_string, &v3.body] {
            prop_assert!(wire.bytes().all(|b| b.is_ascii_graphic()), "{}", wire);
        }
        prop_assert_eq!(v3.headers.last().map(|h| h.0.as_str()), Some("authorization"));
    }

    #[test]
    fn the_signature_changes_with_any_signed_input(
        secret in "[A-Za-z0-9]{16,30}",
        op in "[A-Za-z0-9_]{1,40}",
        ts in "20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]Z",
        nonce in "[0-9a-f]{32}",
        which in 0usize..7,
        change in "[A-Za-z0-9]{1,8}",
    ) {
        let token = Some("CAIStoken+/=".to_owned());
        let base = (op.clone(), secret.clone(), ts.clone(), nonce.clone(), "LTAIid".to_owned(), token.clone(), "2021-09-31".to_owned());
        let mut changed = base.clone();
        match which {
            0 => changed.0.push_str(&change),   // OperationId (form body)
            1 => changed.1.push_str(&change),   // secret
            2 => changed.2.push_str(&change),   // timestamp
            3 => changed.3.push_str(&change),   // nonce
            4 => changed.4.push_str(&change),   // access key id
            5 => changed.5 = Some(format!("{}{change}", token.as_deref().unwrap())), // STS token
            _ => changed.6.push_str(&change),   // API version
        }
        let sign = |(op, secret, ts, nonce, id, token, version): &(String, String, String, String, String, Option<String>, String)| {
            let req = RpcRequest {
                method: "POST",
                host: "bpstudio.cn-hangzhou.aliyuncs.com",
                action: "GetExecuteOperationResult",
                version,
                query: Vec::new(),
                form: vec![("OperationId".to_owned(), op.clone())],
            };
            let key = SigningKey { access_key_id: id, access_key_secret: secret, security_token: token.as_deref() };
            {
                let v3 = sign_v3(&req, &key, ts, nonce);
                (sign_v1(&req, &key, ts, nonce).signature, v3.signature, v3.authorization)
            }
        };
        let (v1, v3, auth) = sign(&base);
        let (v1_changed, v3_changed, auth_changed) = sign(&changed);
        prop_assert_ne!(v1, v1_changed, "V1 ignored input {}", which);
        if which == 4 {
            // V3 does not sign the access key id: it travels in `Credential=` of the header.
            prop_assert_ne!(auth, auth_changed);
        } else {
            prop_assert_ne!(v3, v3_changed, "V3 ignored input {}", which);
        }
    }

    #[test]
    fn endpoint_parsing_never_panics(s in any::<String>(), region in any::<String>(), vpc in any::<bool>()) {
        let _ = parse_endpoint(&s);
        let _ = resolve(Some(&region), None, vpc);
        let _ = is_loopback_url(&s);
    }

    #[test]
    fn http_is_accepted_exactly_for_127_slash_8(a in any::<u8>(), b in any::<u8>(), c in any::<u8>(), d in any::<u8>(), port in 1u16..) {
        let url = format!("http://{a}.{b}.{c}.{d}:{port}/");
        prop_assert_eq!(is_loopback_url(&url), a == 127);
        match parse_endpoint(&url) {
            Ok(e) => {
                prop_assert_eq!(a, 127);
                prop_assert_eq!(e.scheme, Scheme::Http);
                let prefix = format!("http://{a}.{b}.{c}.{d}");
                prop_assert!(e.url.starts_with(&prefix), "{}", e.url);
            }
            Err(_) => prop_assert_ne!(a, 127),
        }
    }
}

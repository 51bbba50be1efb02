//! Walks every signing vector in `tests/data/signing/` (produced by the official Alibaba Cloud
//! Python SDKs, see PROVENANCE.md): each intermediate string is rebuilt with the emulator's
//! own `verify` functions and asserted step by step, then the vector's exact request is sent
//! to a running emulator whose clock is pinned to the vector's timestamp: it must pass.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use bpstudio_emulator::{verify, Scenario};
use serde_json::Value;

fn load(name: &str) -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/signing")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    doc["vectors"].as_array().unwrap().clone()
}

fn string_map(value: &Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn s<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("missing string {key}"))
}

/// A scenario that accepts the vector's key and whose clock reads the vector's timestamp.
fn scenario_for(inputs: &Value) -> Scenario {
    let toml = format!("[settings]\nfixed_time = {:?}\n", s(inputs, "timestamp"));
    let scenario = Scenario::from_toml(&toml).unwrap();
    let id = s(inputs, "access_key_id");
    let secret = s(inputs, "access_key_secret");
    match inputs["security_token"].as_str() {
        Some(token) => scenario.with_sts_key(id, secret, token),
        None => scenario.with_access_key(id, secret),
    }
}

fn assert_round_trip(
    name: &str,
    inputs: &Value,
    method: &str,
    path_and_query: &str,
    headers: Vec<(String, String)>,
    body: &str,
) {
    let emulator = bpstudio_emulator::start(scenario_for(inputs)).unwrap();
    let response = common::send(
        emulator.addr(),
        method,
        path_and_query,
        &headers,
        body.as_bytes(),
    )
    .unwrap();
    let text = String::from_utf8_lossy(&response.body).to_string();
    assert_eq!(response.status, 200, "{name}: round trip refused: {text}");
    let records = emulator.requests();
    assert_eq!(records.len(), 1, "{name}");
    assert_eq!(records[0].verdict, "ok", "{name}: {text}");
    assert_eq!(
        records[0].access_key_id.as_deref(),
        Some(s(inputs, "access_key_id")),
        "{name}"
    );
    let json = response.json();
    assert_eq!(json["Code"], "200", "{name}: {text}");
}

#[test]
fn v1_vectors_step_by_step_and_over_http() {
    let vectors = load("signing-v1.json");
    assert_eq!(vectors.len(), 13, "every V1 vector is walked");
    let mut round_trips = 0;
    for vector in &vectors {
        let name = s(vector, "name");
        let inputs = &vector["inputs"];
        let expected = &vector["expected"];
        let method = inputs["http_method"]
            .as_str()
            .or_else(|| expected["http_method"].as_str())
            .unwrap();

        // Step 1: canonicalized query string over every signed parameter.
        let params = string_map(&vector["all_signed_params"]);
        let canonical = verify::v1_canonicalized_query(&params);
        assert_eq!(
            canonical,
            s(expected, "canonicalized_query_string"),
            "{name}: canonicalized query"
        );
        // Step 2: string-to-sign.
        let string_to_sign = verify::v1_string_to_sign(method, &canonical);
        assert_eq!(
            string_to_sign,
            s(expected, "string_to_sign"),
            "{name}: string-to-sign"
        );
        // Step 3: HMAC key.
        let secret = s(inputs, "access_key_secret");
        assert_eq!(
            verify::v1_hmac_key(secret),
            s(expected, "hmac_key"),
            "{name}: hmac key"
        );
        // Step 4: signature.
        let signature = verify::v1_signature(secret, &string_to_sign);
        assert_eq!(signature, s(expected, "signature"), "{name}: signature");
        if let Some(documented) = expected["documented_signature"].as_str() {
            assert_eq!(signature, documented, "{name}: documented signature");
        }

        // Over HTTP: the request exactly as the SDK put it on the wire.
        let form_type = vec![(
            "content-type".to_string(),
            "application/x-www-form-urlencoded".to_string(),
        )];
        if let Some(query) = expected["request_query_string"].as_str() {
            let headers = match expected["content_type"].as_str() {
                Some(ct) => vec![("content-type".to_string(), ct.to_string())],
                None => vec![],
            };
            let body = s(expected, "request_body");
            assert_round_trip(name, inputs, method, &format!("/?{query}"), headers, body);
            round_trips += 1;
        } else if let Some(path) = expected["url_path_and_query"].as_str() {
            assert_round_trip(
                name,
                inputs,
                method,
                path,
                form_type,
                s(expected, "body_sent"),
            );
            round_trips += 1;
        } else if expected["query_params_sent"].is_object() {
            let query = common::query(&string_map(&expected["query_params_sent"]));
            let headers = string_map(&expected["headers_sent"]).into_iter().collect();
            assert_round_trip(
                name,
                inputs,
                method,
                &format!("/?{query}"),
                headers,
                s(expected, "body_sent"),
            );
            round_trips += 1;
        }
    }
    // All but the documentation example (DescribeRegions of another product).
    assert_eq!(round_trips, 12);
}

#[test]
fn v3_vectors_step_by_step_and_over_http() {
    let vectors = load("signing-v3.json");
    assert_eq!(vectors.len(), 5, "every V3 vector is walked");
    for vector in &vectors {
        let name = s(vector, "name");
        let inputs = &vector["inputs"];
        let expected = &vector["expected"];
        let method = inputs["http_method"]
            .as_str()
            .or_else(|| expected["http_method"].as_str())
            .unwrap();
        let pathname = inputs["pathname"]
            .as_str()
            .or_else(|| expected["pathname"].as_str())
            .unwrap();
        let signed_headers = if inputs["headers_signed"].is_object() {
            string_map(&inputs["headers_signed"])
        } else {
            string_map(&expected["headers_sent_without_authorization"])
        };
        let query = if inputs["query_params"].is_object() {
            string_map(&inputs["query_params"])
        } else {
            string_map(&expected["query_params_sent"])
        };
        let body = s(expected, "request_body");

        // Step 0: the payload hash is over exactly the body bytes.
        let payload = verify::sha256_hex(body.as_bytes());
        assert_eq!(
            payload,
            s(expected, "x_acs_content_sha256"),
            "{name}: body hash"
        );
        assert_eq!(
            signed_headers["x-acs-content-sha256"], payload,
            "{name}: header carries the body hash"
        );
        // Step 1: canonical query string.
        let canonical_query = verify::v3_canonical_query(&query);
        assert_eq!(
            canonical_query,
            s(expected, "canonical_query_string"),
            "{name}: canonical query"
        );
        // Step 2: canonical headers.
        let canonical_headers = verify::v3_canonical_headers(&signed_headers);
        assert_eq!(
            canonical_headers,
            s(expected, "canonical_headers"),
            "{name}: canonical headers"
        );
        // Step 3: signed headers.
        let signed_list = verify::v3_signed_headers(&signed_headers);
        assert_eq!(
            signed_list,
            s(expected, "signed_headers"),
            "{name}: signed headers"
        );
        // Step 4: canonical request.
        let canonical_request = verify::v3_canonical_request(
            method,
            pathname,
            &canonical_query,
            &canonical_headers,
            &signed_list,
            &payload,
        );
        assert_eq!(
            canonical_request,
            s(expected, "canonical_request"),
            "{name}: canonical request"
        );
        // Step 5: hashed canonical request and string-to-sign.
        assert_eq!(
            verify::sha256_hex(canonical_request.as_bytes()),
            s(expected, "hashed_canonical_request"),
            "{name}: hashed canonical request"
        );
        let string_to_sign = verify::v3_string_to_sign(&canonical_request);
        assert_eq!(
            string_to_sign,
            s(expected, "string_to_sign"),
            "{name}: string-to-sign"
        );
        // Step 6: signature, and the Authorization header it goes in.
        let signature = verify::v3_signature(s(inputs, "access_key_secret"), &string_to_sign);
        assert_eq!(signature, s(expected, "signature"), "{name}: signature");
        let authorization = s(expected, "authorization");
        assert_eq!(
            authorization,
            format!(
                "{} Credential={},SignedHeaders={},Signature={}",
                verify::V3_ALGORITHM,
                s(inputs, "access_key_id"),
                signed_list,
                signature
            ),
            "{name}: authorization"
        );
        let parsed = verify::parse_v3_authorization(authorization).unwrap();
        assert_eq!(parsed.signature, signature, "{name}");

        // Over HTTP: the vector's headers (host included), body and Authorization.
        let mut inputs_with_time = inputs.clone();
        inputs_with_time["timestamp"] = Value::String(signed_headers["x-acs-date"].clone());
        let mut headers: Vec<(String, String)> = signed_headers.clone().into_iter().collect();
        headers.push(("authorization".to_string(), authorization.to_string()));
        let path = if query.is_empty() {
            pathname.to_string()
        } else {
            format!("{pathname}?{}", common::query(&query))
        };
        assert_round_trip(name, &inputs_with_time, method, &path, headers, body);
    }
}

#[test]
fn a_vector_request_with_one_changed_byte_is_refused() {
    let vectors = load("signing-v3.json");
    let vector = &vectors[0];
    let inputs = &vector["inputs"];
    let expected = &vector["expected"];
    let mut inputs_with_time = inputs.clone();
    inputs_with_time["timestamp"] = inputs["headers_signed"]["x-acs-date"].clone();
    let emulator = bpstudio_emulator::start(scenario_for(&inputs_with_time)).unwrap();
    let mut headers: Vec<(String, String)> =
        string_map(&inputs["headers_signed"]).into_iter().collect();
    headers.push((
        "authorization".to_string(),
        s(expected, "authorization").to_string(),
    ));
    // Same headers and signature, body altered: the payload hash no longer matches.
    let body = s(expected, "request_body").replace("op", "oq");
    let response = common::send(emulator.addr(), "POST", "/", &headers, body.as_bytes()).unwrap();
    assert_eq!(response.status, 400);
    assert_eq!(response.code(), "SignatureDoesNotMatch");
}

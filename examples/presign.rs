//! Pre-signs `GetExecuteOperationResult` requests for the benchmark's `curl` runs
//! (`scripts/bench`): the library's own V1 signer, one fresh `SignatureNonce` per request
//! (the service, and the emulator, refuse a nonce they have seen).
//!
//! ```text
//! ALIBABA_CLOUD_ACCESS_KEY_ID=.. ALIBABA_CLOUD_ACCESS_KEY_SECRET=.. \
//!   cargo run --release --example presign -- http://127.0.0.1:PORT OPERATION_ID COUNT
//! ```
//!
//! Prints COUNT lines `URL<TAB>BODY`; send each once with
//! `curl -X POST -H 'content-type: application/x-www-form-urlencoded' --data-binary BODY URL`.
//! An example, not a feature: the shipped binary has no way to print a signed request.

use std::process::ExitCode;
use std::time::SystemTime;

use bpstudio_op::client::{ACTION, API_VERSION};
use bpstudio_op::endpoint::parse_endpoint;
use bpstudio_op::sign::{sign_v1, RpcRequest, SigningKey};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [endpoint, id, count] = args.as_slice() else {
        eprintln!("usage: presign ENDPOINT_URL OPERATION_ID COUNT (credentials from ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET)");
        return ExitCode::from(2);
    };
    let (Ok(key_id), Ok(secret)) = (
        std::env::var("ALIBABA_CLOUD_ACCESS_KEY_ID"),
        std::env::var("ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
    ) else {
        eprintln!("presign: set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET");
        return ExitCode::from(2);
    };
    let endpoint = match parse_endpoint(endpoint) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("presign: {}", e.message);
            return ExitCode::from(2);
        }
    };
    let Ok(count) = count.parse::<usize>() else {
        eprintln!("presign: COUNT must be a number");
        return ExitCode::from(2);
    };
    let key = SigningKey {
        access_key_id: &key_id,
        access_key_secret: &secret,
        security_token: None,
    };
    let req = RpcRequest {
        method: "POST",
        host: &endpoint.host,
        action: ACTION,
        version: API_VERSION,
        query: Vec::new(),
        form: vec![("OperationId".to_owned(), id.clone())],
    };
    // One timestamp for all: the service accepts 15 minutes either side.
    let timestamp = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    for _ in 0..count {
        let nonce = format!("{:032x}", rand::random::<u128>());
        let signed = sign_v1(&req, &key, &timestamp, &nonce);
        println!("{}?{}\t{}", endpoint.url, signed.query_string, signed.body);
    }
    ExitCode::SUCCESS
}

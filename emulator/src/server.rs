/*!
The HTTP side of the emulator: one hyper service at `/` that parses an RPC request, checks
it the way the service does (API, parameters, credentials, clock, signature, nonce, rate),
injects the scenario's faults and answers with the service's JSON bodies. The same service
plays STS (`AssumeRole`, `AssumeRoleWithOIDC` at `/`), the ECS metadata service
(`/latest/...`) and a credentials URI, and accepts what they issue until it expires.

It owns the emulator's mutable state (operations, nonces, request log). Signature arithmetic
lives in `verify`, the scenario model in `scenario`.
*/

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{self, Write};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::header::{HeaderMap, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Request, Response, StatusCode};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::scenario::{Fault, FaultKind, Scenario, Step, StepStart};
use crate::verify;
use crate::RequestRecord;

/// The only API version BPStudio has.
pub const API_VERSION: &str = "2021-09-31";
/// The STS API version (`AssumeRole`, `AssumeRoleWithOIDC`).
pub const STS_VERSION: &str = "2015-04-01";
/// Largest request body read; anything larger is refused.
const MAX_REQUEST_BODY: usize = 1 << 20;

/// Shared by every connection of one emulator.
pub(crate) struct State {
    pub(crate) scenario: Scenario,
    started: Instant,
    in_flight: AtomicUsize,
    pub(crate) max_in_flight: AtomicUsize,
    pub(crate) records: Mutex<Vec<RequestRecord>>,
    log: Option<Mutex<Box<dyn Write + Send>>>,
    inner: Mutex<Inner>,
    counter: AtomicU64,
}

/// State that changes with every request.
struct Inner {
    /// (access key id, nonce) → emulator time first seen.
    nonces: HashMap<(String, String), SystemTime>,
    /// access key id → arrival times within the last second.
    rate: HashMap<String, VecDeque<Instant>>,
    /// operation id → its state.
    operations: HashMap<String, OperationState>,
    /// operation id ("" for requests naming none) → authenticated requests so far.
    attempts: HashMap<String, u32>,
    /// Temporary credentials handed out by STS, IMDS and the credentials URI.
    issued: HashMap<String, Issued>,
    /// IMDSv2 session tokens → when they expire (emulator clock).
    imds_tokens: HashMap<String, SystemTime>,
}

/// A temporary credential the emulator issued.
struct Issued {
    secret: String,
    token: String,
    expires: SystemTime,
}

struct OperationState {
    steps: Vec<Step>,
    message: Option<String>,
    arguments: Option<String>,
    expired: bool,
    visible_after: Option<Duration>,
    /// Counted from `clock_start`, like `visible_after`.
    expires_after: Option<Duration>,
    /// When `after` starts counting: creation, or the first request naming a scripted id.
    clock_start: Option<Instant>,
    expires_at: Option<Instant>,
    /// Answers served with this id so far.
    polls: u32,
}

impl State {
    pub(crate) fn new(scenario: Scenario, log: Option<Box<dyn Write + Send>>) -> State {
        let operations = scenario
            .operations
            .iter()
            .map(|spec| {
                (
                    spec.id.clone(),
                    OperationState {
                        steps: spec.steps.clone(),
                        message: spec.message.clone(),
                        arguments: spec.arguments.clone(),
                        expired: spec.expired,
                        visible_after: spec.visible_after,
                        expires_after: spec.expires_after,
                        clock_start: None,
                        expires_at: None,
                        polls: 0,
                    },
                )
            })
            .collect();
        let seed = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        State {
            scenario,
            started: Instant::now(),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            records: Mutex::new(Vec::new()),
            log: log.map(Mutex::new),
            inner: Mutex::new(Inner {
                nonces: HashMap::new(),
                rate: HashMap::new(),
                operations,
                attempts: HashMap::new(),
                issued: HashMap::new(),
                imds_tokens: HashMap::new(),
            }),
            counter: AtomicU64::new(seed),
        }
    }

    /// The emulator's clock: real time (or `fixed_time`) shifted by `clock_skew`.
    fn now(&self) -> SystemTime {
        let settings = &self.scenario.settings;
        let base = settings.fixed_time.unwrap_or_else(SystemTime::now);
        let skew = settings.clock_skew_ms;
        if skew >= 0 {
            base + Duration::from_millis(skew as u64)
        } else {
            base - Duration::from_millis(skew.unsigned_abs())
        }
    }

    /// A pseudo-random 64-bit value (splitmix64): ids need to look random, not be secret.
    fn random(&self) -> u64 {
        let mut z = self
            .counter
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn random_chars(&self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .map(|_| alphabet[(self.random() % alphabet.len() as u64) as usize] as char)
            .collect()
    }

    /// A request id in the service's format, e.g. `5E2C3B5A-1F0C-4A7B-9C1D-0123456789AB`.
    fn request_id(&self) -> String {
        let hex = format!("{:016X}{:016X}", self.random(), self.random());
        format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    }

    /// A new operation id in the service's format:
    /// `op_<18 chars>_<serviceType>_<operation>_<16 chars>_<16 chars>`.
    fn operation_id(&self, service_type: &str, operation: &str) -> String {
        const LOWER: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        format!(
            "op_{}_{}_{}_{}_{}",
            self.random_chars(LOWER, 18),
            service_type,
            operation,
            self.random_chars(UPPER, 16),
            self.random_chars(UPPER, 16)
        )
    }

    fn elapsed_ms(&self, at: Instant) -> u64 {
        at.duration_since(self.started).as_millis() as u64
    }
}

/// Counts a request as in flight for as long as it lives (streamed bodies carry it along).
pub(crate) struct InFlight(Arc<State>);

impl InFlight {
    fn enter(state: &Arc<State>) -> InFlight {
        let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        state.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(state.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A response body: all at once, or streamed from a task (faults).
pub struct EmuBody {
    full: Option<Bytes>,
    channel: Option<mpsc::Receiver<Result<Bytes, io::Error>>>,
}

impl EmuBody {
    fn full(bytes: impl Into<Bytes>) -> EmuBody {
        EmuBody {
            full: Some(bytes.into()),
            channel: None,
        }
    }

    fn channel(rx: mpsc::Receiver<Result<Bytes, io::Error>>) -> EmuBody {
        EmuBody {
            full: None,
            channel: Some(rx),
        }
    }
}

impl Body for EmuBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        if let Some(bytes) = self.full.take() {
            return Poll::Ready(Some(Ok(Frame::data(bytes))));
        }
        match self.channel.as_mut() {
            Some(rx) => rx
                .poll_recv(cx)
                .map(|item| item.map(|result| result.map(Frame::data))),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.full.is_none() && self.channel.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        match (&self.full, &self.channel) {
            (Some(bytes), None) => SizeHint::with_exact(bytes.len() as u64),
            (None, None) => SizeHint::with_exact(0),
            _ => SizeHint::default(),
        }
    }
}

/// An error answer in the service's shape.
#[derive(Clone, Debug)]
struct ApiError {
    status: u16,
    code: String,
    message: String,
    retry_after: Option<Duration>,
}

fn api_error(status: u16, code: &str, message: impl Into<String>) -> ApiError {
    ApiError {
        status,
        code: code.to_string(),
        message: message.into(),
        retry_after: None,
    }
}

fn missing(name: &str) -> ApiError {
    api_error(
        400,
        &format!("Missing{name}"),
        format!("{name} is mandatory for this action."),
    )
}

fn missing_header(name: &str) -> ApiError {
    api_error(
        400,
        "MissingParameter",
        format!("The input parameter \"{name}\" that is mandatory for processing this request is not supplied."),
    )
}

fn signature_mismatch(server_string_to_sign: &str) -> ApiError {
    api_error(
        400,
        "SignatureDoesNotMatch",
        format!(
            "Specified signature does not match our calculation. server string to sign is:{server_string_to_sign}"
        ),
    )
}

fn throttled() -> ApiError {
    api_error(
        400,
        "Throttling.User",
        "Request was denied due to user flow control.",
    )
}

/// What the parsed request looks like, for checks and for the log.
struct ParsedRequest {
    method: String,
    params: BTreeMap<String, String>,
    query: BTreeMap<String, String>,
    headers: HeaderMap,
    path: String,
    body: Bytes,
    host: String,
}

impl ParsedRequest {
    fn header(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self
            .headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if values.is_empty() {
            None
        } else {
            Some(values.join(","))
        }
    }

    fn is_v3(&self) -> bool {
        self.headers.contains_key(hyper::header::AUTHORIZATION)
    }
}

/// The normal (non-fault) answer to an authenticated request.
enum Answer {
    Json(Value),
    Error(ApiError),
}

/// What `evaluate` decided, before any waiting or streaming.
struct Decision {
    action: Option<String>,
    signature_version: Option<String>,
    access_key_id: Option<String>,
    operation_id: Option<String>,
    params: BTreeMap<String, String>,
    host: String,
    fault: Option<Fault>,
    answer: Option<Answer>,
}

/// Serves one request. `Err` closes the connection without a response (the `drop` fault).
pub(crate) async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<EmuBody>, io::Error> {
    let arrived = Instant::now();
    let guard = InFlight::enter(&state);
    let index = {
        let mut records = state.records.lock().unwrap();
        records.push(RequestRecord {
            method: req.method().to_string(),
            action: None,
            signature_version: None,
            access_key_id: None,
            operation_id: None,
            params: BTreeMap::new(),
            verdict: "pending".to_string(),
            http_status: 0,
            fault: None,
            started_ms: state.elapsed_ms(arrived),
            duration_ms: 0,
        });
        records.len() - 1
    };

    let (parts, body) = req.into_parts();
    let body = match http_body_util::Limited::new(body, MAX_REQUEST_BODY)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            finish(
                &state,
                index,
                arrived,
                None,
                "RequestBodyUnreadable",
                0,
                None,
            );
            return Err(io::Error::other("request body unreadable or too large"));
        }
    };
    if parts.uri.path() != "/" {
        let (response, label, verdict) = side_endpoint(&state, &parts);
        let decision = Decision {
            action: Some(label),
            signature_version: None,
            access_key_id: None,
            operation_id: None,
            params: parse(&parts, body).params,
            host: String::new(),
            fault: None,
            answer: None,
        };
        finish(
            &state,
            index,
            arrived,
            Some(&decision),
            &verdict,
            response.status().as_u16(),
            None,
        );
        return Ok(response);
    }
    let incoming = parse(&parts, body);
    let decision = evaluate(&state, incoming);
    respond(state, index, arrived, decision, guard).await
}

fn text_response(
    state: &State,
    status: u16,
    content_type: &str,
    body: String,
) -> Response<EmuBody> {
    base_response(state, status, &state.request_id())
        .header(hyper::header::CONTENT_TYPE, content_type)
        .body(EmuBody::full(body))
        .expect("valid response")
}

/// The credential side doors: the ECS metadata service (`/latest/...`) and the credentials
/// URI. Returns the response, the label logged as `action`, and the verdict.
fn side_endpoint(state: &State, parts: &Parts) -> (Response<EmuBody>, String, String) {
    let path = parts.uri.path();
    let scenario = &state.scenario;
    let not_found = |label: &str| {
        (
            text_response(state, 404, "text/plain", "Not Found\n".to_string()),
            label.to_string(),
            "NotFound".to_string(),
        )
    };
    if let Some(uri) = &scenario.credentials_uri {
        if path == uri.path {
            if parts.method != hyper::Method::GET {
                return not_found("CredentialsURI");
            }
            let mut inner = state.inner.lock().unwrap();
            let (id, secret, token, expires) = issue(state, &mut inner, uri.duration);
            let body = json!({
                "Code": "Success",
                "AccessKeyId": id,
                "AccessKeySecret": secret,
                "SecurityToken": token,
                "Expiration": rfc3339(expires),
            });
            return (
                text_response(state, 200, "application/json", body.to_string()),
                "CredentialsURI".to_string(),
                "ok".to_string(),
            );
        }
    }
    let Some(imds) = &scenario.imds else {
        return not_found("Unknown");
    };
    let now = state.now();
    let mut inner = state.inner.lock().unwrap();
    if path == "/latest/api/token" {
        if parts.method != hyper::Method::PUT {
            return not_found("MetadataToken");
        }
        let ttl = parts
            .headers
            .get("x-aliyun-ecs-metadata-token-ttl-seconds")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|ttl| (1..=21600).contains(ttl));
        let Some(ttl) = ttl else {
            return (
                text_response(state, 400, "text/plain", "Bad Request\n".to_string()),
                "MetadataToken".to_string(),
                "BadRequest".to_string(),
            );
        };
        let token = state.random_chars(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            56,
        );
        inner
            .imds_tokens
            .insert(token.clone(), now + Duration::from_secs(ttl));
        return (
            text_response(state, 200, "text/plain", token),
            "MetadataToken".to_string(),
            "ok".to_string(),
        );
    }
    let Some(rest) = path.strip_prefix("/latest/meta-data/ram/security-credentials") else {
        return not_found("Metadata");
    };
    // IMDSv2: a token, when given, must be valid; when required, must be given.
    let token = parts
        .headers
        .get("x-aliyun-ecs-metadata-token")
        .and_then(|v| v.to_str().ok());
    let token_ok = match token {
        Some(t) => inner.imds_tokens.get(t).is_some_and(|exp| now <= *exp),
        None => !imds.require_token,
    };
    let label = if rest.trim_matches('/').is_empty() {
        "MetadataRoleName"
    } else {
        "MetadataCredentials"
    };
    if !token_ok {
        return (
            text_response(state, 401, "text/plain", "Unauthorized\n".to_string()),
            label.to_string(),
            "Unauthorized".to_string(),
        );
    }
    if parts.method != hyper::Method::GET {
        return not_found(label);
    }
    let role = rest.trim_matches('/');
    if role.is_empty() {
        return (
            text_response(state, 200, "text/plain", imds.role_name.clone()),
            label.to_string(),
            "ok".to_string(),
        );
    }
    if role != imds.role_name {
        return not_found(label);
    }
    let (id, secret, token, expires) = issue(state, &mut inner, imds.duration);
    let body = json!({
        "AccessKeyId": id,
        "AccessKeySecret": secret,
        "Expiration": rfc3339(expires),
        "SecurityToken": token,
        "LastUpdated": rfc3339(now),
        "Code": "Success",
    });
    (
        text_response(state, 200, "text/plain", body.to_string()),
        label.to_string(),
        "ok".to_string(),
    )
}

fn parse(parts: &Parts, body: Bytes) -> ParsedRequest {
    let query: BTreeMap<String, String> = parts
        .uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let mut params = query.clone();
    let is_form = parts
        .headers
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if is_form {
        params.extend(form_urlencoded::parse(&body).into_owned());
    }
    let host = parts
        .headers
        .get(hyper::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("bpstudio.aliyuncs.com")
        .to_string();
    ParsedRequest {
        method: parts.method.to_string(),
        params,
        query,
        headers: parts.headers.clone(),
        path: parts.uri.path().to_string(),
        body,
        host,
    }
}

/// Everything that happens under the state lock: checks, counters, operation state.
fn evaluate(state: &State, req: ParsedRequest) -> Decision {
    let v3 = req.is_v3();
    let mut decision = Decision {
        action: if v3 {
            req.header("x-acs-action")
                .or_else(|| req.params.get("Action").cloned())
        } else {
            req.params.get("Action").cloned()
        },
        signature_version: if v3 {
            Some("v3".to_string())
        } else if req.params.contains_key("Signature") {
            Some("v1".to_string())
        } else {
            None
        },
        access_key_id: None,
        operation_id: req.params.get("OperationId").cloned(),
        params: req.params.clone(),
        host: req.host.clone(),
        fault: None,
        answer: None,
    };

    let mut inner = state.inner.lock().unwrap();
    if let Err(error) = authenticate(state, &mut inner, &req, &mut decision) {
        decision.answer = Some(Answer::Error(error));
        return decision;
    }

    let action = decision.action.clone().unwrap_or_default();
    if matches!(action.as_str(), "AssumeRole" | "AssumeRoleWithOIDC") {
        decision.answer = Some(assume_role(state, &mut inner, &req, &action));
        return decision;
    }

    // Faults are matched on the authenticated requests naming an operation id.
    let key = decision.operation_id.clone().unwrap_or_default();
    let attempt = {
        let counter = inner.attempts.entry(key.clone()).or_insert(0);
        *counter += 1;
        *counter
    };
    if !key.is_empty() {
        if let Some(op) = inner.operations.get_mut(&key) {
            op.clock_start.get_or_insert_with(Instant::now);
        }
    }
    decision.fault = state
        .scenario
        .faults
        .iter()
        .find(|fault| {
            fault.operation_id.as_ref().is_none_or(|id| id == &key)
                && fault
                    .attempts
                    .as_ref()
                    .is_none_or(|attempts| attempts.contains(&attempt))
        })
        .cloned();
    let serves_answer = decision
        .fault
        .as_ref()
        .is_none_or(|f| matches!(f.kind, FaultKind::Delay | FaultKind::Trickle));
    if serves_answer {
        let answer = match action.as_str() {
            "GetExecuteOperationResult" => get_result(state, &mut inner, &req),
            "ExecuteOperationASync" => {
                let (answer, id) = execute_async(state, &mut inner, &req);
                if id.is_some() {
                    decision.operation_id = id;
                }
                answer
            }
            _ => unreachable!("authenticate admits only known actions"),
        };
        decision.answer = Some(answer);
    }
    decision
}

/// The service's checks, in its order: API, parameters, timestamp format, access key,
/// security token, timestamp window, signature, nonce, rate.
fn authenticate(
    state: &State,
    inner: &mut Inner,
    req: &ParsedRequest,
    decision: &mut Decision,
) -> Result<(), ApiError> {
    let v3 = req.is_v3();
    let version = if v3 {
        req.header("x-acs-version")
            .or_else(|| req.params.get("Version").cloned())
    } else {
        req.params.get("Version").cloned()
    };
    let action = match &decision.action {
        Some(a) if !a.is_empty() => a.clone(),
        _ => {
            return Err(if v3 {
                missing_header("x-acs-action")
            } else {
                missing("Action")
            })
        }
    };
    let version = match version {
        Some(v) if !v.is_empty() => v,
        _ => {
            return Err(if v3 {
                missing_header("x-acs-version")
            } else {
                missing("Version")
            })
        }
    };
    let known = match version.as_str() {
        API_VERSION => matches!(
            action.as_str(),
            "GetExecuteOperationResult" | "ExecuteOperationASync"
        ),
        STS_VERSION => matches!(action.as_str(), "AssumeRole" | "AssumeRoleWithOIDC"),
        _ => false,
    };
    if !known {
        return Err(api_error(
            404,
            "InvalidApi.NotFound",
            "Specified api is not found, please check your url and method.",
        ));
    }

    if action == "AssumeRoleWithOIDC" {
        // Anonymous: the OIDC token is the proof, checked by the action itself.
        return Ok(());
    }

    let now = state.now();
    let caller = if v3 {
        check_v3(state, inner, req, decision, now)?
    } else {
        check_v1(state, inner, req, decision, now)?
    };
    let (access_key_id, nonce) = caller;

    // A nonce is remembered per access key for the timestamp window.
    let window = state.scenario.settings.timestamp_window;
    if inner.nonces.len() > 10_000 {
        inner
            .nonces
            .retain(|_, seen| within(*seen, now, window * 2));
    }
    let key = (access_key_id.clone(), nonce);
    if let Some(seen) = inner.nonces.get(&key) {
        if within(*seen, now, window * 2) {
            return Err(api_error(
                400,
                "SignatureNonceUsed",
                "Specified signature nonce was used already.",
            ));
        }
    }
    inner.nonces.insert(key, now);

    let limit = state
        .scenario
        .credentials
        .iter()
        .find(|c| c.access_key_id == access_key_id)
        .and_then(|c| c.rate_limit_per_second);
    if let Some(limit) = limit {
        let arrivals = inner.rate.entry(access_key_id.clone()).or_default();
        let now = Instant::now();
        while arrivals
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            arrivals.pop_front();
        }
        if arrivals.len() >= limit as usize {
            return Err(throttled());
        }
        arrivals.push_back(now);
    }
    Ok(())
}

fn within(a: SystemTime, b: SystemTime, window: Duration) -> bool {
    match a.duration_since(b) {
        Ok(d) => d <= window,
        Err(e) => e.duration() <= window,
    }
}

fn parse_timestamp(text: &str) -> Option<SystemTime> {
    // The service wants ISO 8601 in UTC: yyyy-MM-ddTHH:mm:ssZ.
    if !text.ends_with('Z') || text.len() < 20 {
        return None;
    }
    humantime::parse_rfc3339(text).ok()
}

/// Finds the secret of `access_key_id` (configured or issued) and checks the token that goes
/// with it.
fn check_credential(
    state: &State,
    inner: &Inner,
    access_key_id: &str,
    token: Option<&str>,
    now: SystemTime,
) -> Result<String, ApiError> {
    let (secret, expected_token) = if let Some(c) = state
        .scenario
        .credentials
        .iter()
        .find(|c| c.access_key_id == access_key_id)
    {
        (c.access_key_secret.clone(), c.security_token.clone())
    } else if let Some(issued) = inner.issued.get(access_key_id) {
        if now > issued.expires {
            return Err(api_error(
                400,
                "InvalidSecurityToken.Expired",
                "Specified SecurityToken is expired.",
            ));
        }
        (issued.secret.clone(), Some(issued.token.clone()))
    } else {
        return Err(api_error(
            404,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.",
        ));
    };
    let token = token.filter(|t| !t.is_empty());
    match (&expected_token, token) {
        (Some(_), None) => Err(api_error(
            400,
            "MissingSecurityToken",
            "SecurityToken is mandatory for this action.",
        )),
        (Some(expected), Some(given)) if expected != given => Err(api_error(
            400,
            "InvalidSecurityToken.MismatchWithAccessKey",
            "Specified SecurityToken mismatch with the AccessKey.",
        )),
        (None, Some(_)) => Err(api_error(
            400,
            "InvalidSecurityToken.Malformed",
            "Specified SecurityToken is malformed.",
        )),
        _ => Ok(secret),
    }
}

fn check_window(state: &State, timestamp: SystemTime, now: SystemTime) -> Result<(), ApiError> {
    if within(timestamp, now, state.scenario.settings.timestamp_window) {
        Ok(())
    } else {
        Err(api_error(
            400,
            "InvalidTimeStamp.Expired",
            format!(
                "Specified time stamp or date value is expired. The server time is {}.",
                humantime::format_rfc3339_seconds(now)
            ),
        ))
    }
}

/// RPC signature V1: every parameter but `Signature` is signed.
fn check_v1(
    state: &State,
    inner: &Inner,
    req: &ParsedRequest,
    decision: &mut Decision,
    now: SystemTime,
) -> Result<(String, String), ApiError> {
    let p = &req.params;
    let get = |name: &str| p.get(name).filter(|v| !v.is_empty()).cloned();
    let access_key_id = get("AccessKeyId").ok_or_else(|| missing("AccessKeyId"))?;
    decision.access_key_id = Some(access_key_id.clone());
    let signature = get("Signature").ok_or_else(|| missing("Signature"))?;
    let method = get("SignatureMethod").ok_or_else(|| missing("SignatureMethod"))?;
    let version = get("SignatureVersion").ok_or_else(|| missing("SignatureVersion"))?;
    let nonce = get("SignatureNonce").ok_or_else(|| missing("SignatureNonce"))?;
    let timestamp = get("Timestamp")
        .or_else(|| get("TimeStamp"))
        .ok_or_else(|| missing("Timestamp"))?;
    if method != "HMAC-SHA1" {
        return Err(api_error(
            400,
            "InvalidSignatureMethod",
            "Specified signature method is not supported.",
        ));
    }
    if version != "1.0" {
        return Err(api_error(
            400,
            "InvalidSignatureVersion",
            "Specified signature version is not valid.",
        ));
    }
    let timestamp = parse_timestamp(&timestamp).ok_or_else(|| {
        api_error(
            400,
            "InvalidTimeStamp.Format",
            "Specified time stamp or date value is not well formatted.",
        )
    })?;
    let secret = check_credential(
        state,
        inner,
        &access_key_id,
        p.get("SecurityToken").map(|s| s.as_str()),
        now,
    )?;
    check_window(state, timestamp, now)?;

    let canonical = verify::v1_canonicalized_query(p);
    let string_to_sign = verify::v1_string_to_sign(&req.method, &canonical);
    let expected = verify::v1_signature(&secret, &string_to_sign);
    if !verify::constant_time_eq(&expected, &signature) {
        return Err(signature_mismatch(&string_to_sign));
    }
    Ok((access_key_id, nonce))
}

/// ACS3-HMAC-SHA256: the canonical request is rebuilt from the headers the client names.
fn check_v3(
    state: &State,
    inner: &Inner,
    req: &ParsedRequest,
    decision: &mut Decision,
    now: SystemTime,
) -> Result<(String, String), ApiError> {
    let header = req.header("authorization").unwrap_or_default();
    let auth = verify::parse_v3_authorization(&header).ok_or_else(|| {
        api_error(
            400,
            "IncompleteSignature",
            "The request signature does not conform to Aliyun standards.",
        )
    })?;
    decision.access_key_id = Some(auth.credential.clone());
    let date = req
        .header("x-acs-date")
        .ok_or_else(|| missing_header("x-acs-date"))?;
    let nonce = req
        .header("x-acs-signature-nonce")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| missing_header("x-acs-signature-nonce"))?;
    let timestamp = parse_timestamp(&date).ok_or_else(|| {
        api_error(
            400,
            "InvalidTimeStamp.Format",
            "Specified time stamp or date value is not well formatted.",
        )
    })?;
    let token = req
        .header("x-acs-security-token")
        .or_else(|| req.params.get("SecurityToken").cloned());
    let secret = check_credential(state, inner, &auth.credential, token.as_deref(), now)?;
    check_window(state, timestamp, now)?;

    // Each header the client names, with the value it sent (empty when absent).
    let signed: BTreeMap<String, String> = auth
        .signed_headers
        .iter()
        .map(|name| (name.clone(), req.header(name).unwrap_or_default()))
        .collect();
    let canonical_request = verify::v3_canonical_request(
        &req.method,
        &req.path,
        &verify::v3_canonical_query(&req.query),
        &verify::v3_canonical_headers(&signed),
        &verify::v3_signed_headers(&signed),
        // The body the server received, so a stale x-acs-content-sha256 cannot pass.
        &verify::sha256_hex(&req.body),
    );
    let string_to_sign = verify::v3_string_to_sign(&canonical_request);
    let expected = verify::v3_signature(&secret, &string_to_sign);
    if !verify::constant_time_eq(&expected, &auth.signature.to_ascii_lowercase()) {
        return Err(signature_mismatch(&string_to_sign));
    }
    Ok((auth.credential, nonce))
}

/// Issues and remembers a temporary credential valid for `lifetime` on the emulator's clock.
fn issue(
    state: &State,
    inner: &mut Inner,
    lifetime: Duration,
) -> (String, String, String, SystemTime) {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let id = format!("STS.NEmu{}", state.random_chars(ALNUM, 20));
    let secret = state.random_chars(ALNUM, 40);
    // STS tokens are base64: keep the characters that trip encoders.
    let token = format!(
        "CAIS{}+/{}==",
        state.random_chars(ALNUM, 60),
        state.random_chars(ALNUM, 20)
    );
    let expires = state.now() + lifetime;
    inner.issued.insert(
        id.clone(),
        Issued {
            secret: secret.clone(),
            token: token.clone(),
            expires,
        },
    );
    (id, secret, token, expires)
}

fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}

/// STS `AssumeRole` (signed) and `AssumeRoleWithOIDC` (anonymous).
fn assume_role(state: &State, inner: &mut Inner, req: &ParsedRequest, action: &str) -> Answer {
    let get = |name: &str| req.params.get(name).filter(|v| !v.is_empty()).cloned();
    let Some(role_arn) = get("RoleArn") else {
        return Answer::Error(missing("RoleArn"));
    };
    let Some(session) = get("RoleSessionName") else {
        return Answer::Error(missing("RoleSessionName"));
    };
    let Some(role) = state.scenario.roles.iter().find(|r| r.role_arn == role_arn) else {
        return Answer::Error(api_error(
            404,
            "EntityNotExist.Role",
            format!("The role not exists: {role_arn}."),
        ));
    };
    if action == "AssumeRoleWithOIDC" {
        let Some(provider) = get("OIDCProviderArn") else {
            return Answer::Error(missing("OIDCProviderArn"));
        };
        let Some(token) = get("OIDCToken") else {
            return Answer::Error(missing("OIDCToken"));
        };
        if role.oidc_provider_arn.as_deref() != Some(provider.as_str()) {
            return Answer::Error(api_error(
                404,
                "EntityNotExist.OIDCProvider",
                format!("The specified OIDC provider does not exist: {provider}."),
            ));
        }
        if role.oidc_token.as_ref().is_some_and(|t| t != &token) {
            return Answer::Error(api_error(
                400,
                "AuthenticationFail.OIDCToken.Invalid",
                "The OIDC token is invalid.",
            ));
        }
    }
    let mut lifetime = role.duration;
    if let Some(text) = get("DurationSeconds") {
        match text.parse::<u64>() {
            Ok(seconds) if seconds >= 900 => {
                lifetime = lifetime.min(Duration::from_secs(seconds));
            }
            _ => {
                return Answer::Error(api_error(
                    400,
                    "InvalidParameter.DurationSeconds",
                    "The parameter DurationSeconds is wrong: at least 900 seconds.",
                ))
            }
        }
    }
    let (id, secret, token, expires) = issue(state, inner, lifetime);
    Answer::Json(json!({
        "RequestId": null,
        "AssumedRoleUser": {
            "AssumedRoleId": format!("3{}:{session}", state.random_chars(b"0123456789", 17)),
            "Arn": format!("{role_arn}/{session}"),
        },
        "Credentials": {
            "SecurityToken": token,
            "AccessKeyId": id,
            "AccessKeySecret": secret,
            "Expiration": rfc3339(expires),
        },
    }))
}

fn success_code(state: &State) -> Value {
    if state.scenario.settings.code_as_number {
        json!(200)
    } else {
        json!("200")
    }
}

fn get_result(state: &State, inner: &mut Inner, req: &ParsedRequest) -> Answer {
    let id = match req.params.get("OperationId").filter(|v| !v.is_empty()) {
        Some(id) => id.clone(),
        None => return Answer::Error(missing("OperationId")),
    };
    let mut body = serde_json::Map::new();
    body.insert("RequestId".into(), Value::Null); // filled in by `respond`
    body.insert("Code".into(), success_code(state));
    body.insert("Message".into(), json!("success"));
    if let Some(op) = inner.operations.get_mut(&id) {
        op.polls += 1;
        let now = Instant::now();
        let start = *op.clock_start.get_or_insert(now);
        let elapsed = now.duration_since(start);
        let hidden = op.expired
            || op.expires_at.is_some_and(|at| now >= at)
            || op.visible_after.is_some_and(|v| elapsed < v)
            || op.expires_after.is_some_and(|e| elapsed >= e)
            || op.steps.is_empty();
        if !hidden {
            let step = current_step(&op.steps, elapsed, op.polls);
            let mut data = serde_json::Map::new();
            data.insert("OperationId".into(), json!(id));
            data.insert("Status".into(), json!(step.status));
            if let Some(message) = step.message.as_ref().or(op.message.as_ref()) {
                data.insert("Message".into(), json!(message));
            }
            if let Some(arguments) = step.arguments.as_ref().or(op.arguments.as_ref()) {
                data.insert("Arguments".into(), json!(arguments));
            }
            body.insert("Data".into(), Value::Object(data));
        }
    }
    Answer::Json(Value::Object(body))
}

/// The last step of the satisfied prefix: lifecycles only move forward.
fn current_step(steps: &[Step], elapsed: Duration, poll: u32) -> &Step {
    let mut current = &steps[0];
    for step in steps {
        let reached = match step.start {
            StepStart::Immediately => true,
            StepStart::After(after) => elapsed >= after,
            StepStart::Poll(n) => poll >= n,
        };
        if !reached {
            break;
        }
        current = step;
    }
    current
}

fn default_steps() -> Vec<Step> {
    let step = |status: &str, start| Step {
        status: status.to_string(),
        start,
        message: None,
        arguments: None,
    };
    vec![
        step("INIT", StepStart::Immediately),
        step("RUNNING", StepStart::After(Duration::from_secs(1))),
        step("SUCCESS", StepStart::After(Duration::from_secs(3))),
    ]
}

fn execute_async(
    state: &State,
    inner: &mut Inner,
    req: &ParsedRequest,
) -> (Answer, Option<String>) {
    let get = |name: &str| req.params.get(name).filter(|v| !v.is_empty()).cloned();
    let Some(service_type) = get("ServiceType") else {
        return (Answer::Error(missing("ServiceType")), None);
    };
    let Some(operation) = get("Operation") else {
        return (Answer::Error(missing("Operation")), None);
    };
    let attributes = get("Attributes");
    if let Some(text) = &attributes {
        if serde_json::from_str::<Value>(text).is_err() {
            return (
                Answer::Error(api_error(
                    400,
                    "InvalidParameter.Attributes",
                    "The specified parameter Attributes is not a valid JSON object.",
                )),
                None,
            );
        }
    }
    let scenario = &state.scenario;
    let rule = scenario.rules.iter().find(|rule| {
        rule.service_type
            .as_ref()
            .is_none_or(|s| s.eq_ignore_ascii_case(&service_type))
            && rule.operation.as_ref().is_none_or(|o| o == &operation)
    });
    let (steps, message, arguments) = match rule {
        Some(rule) => (
            rule.steps.clone(),
            rule.message.clone(),
            rule.arguments.clone().or(attributes),
        ),
        None => {
            let steps = scenario
                .settings
                .default_lifecycle
                .as_ref()
                .and_then(|name| scenario.lifecycle(name))
                .map_or_else(default_steps, |l| l.steps.clone());
            (steps, None, attributes)
        }
    };
    let id = state.operation_id(&service_type, &operation);
    let now = Instant::now();
    inner.operations.insert(
        id.clone(),
        OperationState {
            steps,
            message,
            arguments,
            expired: false,
            visible_after: rule.and_then(|r| r.visible_after),
            expires_after: None,
            clock_start: Some(now),
            expires_at: Some(
                now + rule
                    .and_then(|r| r.expires_after)
                    .unwrap_or(scenario.settings.operation_ttl),
            ),
            polls: 0,
        },
    );
    let body = json!({
        "RequestId": null,
        "Code": success_code(state),
        "Message": "success",
        "Data": id,
    });
    (Answer::Json(body), Some(id))
}

fn base_response(state: &State, status: u16, request_id: &str) -> hyper::http::response::Builder {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(hyper::header::DATE, httpdate::fmt_http_date(state.now()))
        .header("x-acs-request-id", request_id)
}

fn error_body(error: &ApiError, request_id: &str, host: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "RequestId": request_id,
        "HostId": host,
        "Code": error.code,
        "Message": error.message,
        "Recommend": format!(
            "https://api.aliyun.com/troubleshoot?q={}&product=BPStudio&requestId={}",
            error.code, request_id
        ),
    }))
    .expect("JSON of strings")
}

fn json_response(state: &State, status: u16, request_id: &str, body: Vec<u8>) -> Response<EmuBody> {
    base_response(state, status, request_id)
        .header(
            hyper::header::CONTENT_TYPE,
            "application/json;charset=utf-8",
        )
        .body(EmuBody::full(body))
        .expect("valid response")
}

fn error_response(
    state: &State,
    error: &ApiError,
    request_id: &str,
    host: &str,
) -> Response<EmuBody> {
    let mut response = json_response(
        state,
        error.status,
        request_id,
        error_body(error, request_id, host),
    );
    if let Some(after) = error.retry_after {
        response.headers_mut().insert(
            "x-acs-retry-after",
            HeaderValue::from_str(&after.as_millis().to_string()).expect("digits"),
        );
    }
    response
}

/// Renders the normal answer: (status, body bytes, error code if any).
fn render_answer(
    answer: &Answer,
    request_id: &str,
    host: &str,
) -> (u16, Vec<u8>, Option<ApiError>) {
    match answer {
        Answer::Json(value) => {
            let mut value = value.clone();
            value["RequestId"] = json!(request_id);
            (200, serde_json::to_vec(&value).expect("JSON"), None)
        }
        Answer::Error(error) => (
            error.status,
            error_body(error, request_id, host),
            Some(ApiError {
                status: error.status,
                code: error.code.clone(),
                message: error.message.clone(),
                retry_after: error.retry_after,
            }),
        ),
    }
}

#[allow(clippy::too_many_arguments)]
fn finish(
    state: &State,
    index: usize,
    arrived: Instant,
    decision: Option<&Decision>,
    verdict: &str,
    status: u16,
    fault: Option<FaultKind>,
) {
    let record = {
        let mut records = state.records.lock().unwrap();
        let record = &mut records[index];
        if let Some(d) = decision {
            record.action = d.action.clone();
            record.signature_version = d.signature_version.clone();
            record.access_key_id = d.access_key_id.clone();
            record.operation_id = d.operation_id.clone();
            record.params = d.params.clone();
        }
        record.verdict = verdict.to_string();
        record.http_status = status;
        record.fault = fault.map(|f| f.name().to_string());
        record.duration_ms = arrived.elapsed().as_millis() as u64;
        record.clone()
    };
    if let Some(log) = &state.log {
        let mut log = log.lock().unwrap();
        let line = serde_json::to_string(&record).expect("record is JSON");
        let _ = writeln!(log, "{line}");
        let _ = log.flush();
    }
}

async fn respond(
    state: Arc<State>,
    index: usize,
    arrived: Instant,
    decision: Decision,
    guard: InFlight,
) -> Result<Response<EmuBody>, io::Error> {
    let request_id = state.request_id();
    let host = decision.host.clone();
    let Some(fault) = decision.fault.clone() else {
        let answer = decision.answer.as_ref().expect("an answer without a fault");
        let response = match answer {
            Answer::Error(error) => error_response(&state, error, &request_id, &host),
            Answer::Json(_) => {
                let (status, body, _) = render_answer(answer, &request_id, &host);
                json_response(&state, status, &request_id, body)
            }
        };
        let verdict = match answer {
            Answer::Error(e) => e.code.clone(),
            Answer::Json(_) => "ok".to_string(),
        };
        finish(
            &state,
            index,
            arrived,
            Some(&decision),
            &verdict,
            response.status().as_u16(),
            None,
        );
        return Ok(response);
    };

    let kind = fault.kind;
    if let Some(delay) = fault.delay {
        tokio::time::sleep(delay).await;
    }
    let normal = decision
        .answer
        .as_ref()
        .map(|a| render_answer(a, &request_id, &host));
    let verdict_of = |normal: &Option<(u16, Vec<u8>, Option<ApiError>)>| {
        normal
            .as_ref()
            .and_then(|(_, _, e)| e.as_ref().map(|e| e.code.clone()))
            .unwrap_or_else(|| "ok".to_string())
    };
    let done = |verdict: &str, status: u16| {
        finish(
            &state,
            index,
            arrived,
            Some(&decision),
            verdict,
            status,
            Some(kind),
        );
    };

    match kind {
        FaultKind::Delay => {
            let (status, body, _) = normal.clone().expect("delay serves the answer");
            done(&verdict_of(&normal), status);
            Ok(json_response(&state, status, &request_id, body))
        }
        FaultKind::Throttle => {
            let mut error = throttled();
            error.status = fault.status.unwrap_or(400);
            if let Some(code) = &fault.code {
                error.code = code.clone();
            }
            if let Some(message) = &fault.message {
                error.message = message.clone();
            }
            error.retry_after = fault.retry_after;
            done(&error.code, error.status);
            Ok(error_response(&state, &error, &request_id, &host))
        }
        FaultKind::Status => {
            let status = fault.status.unwrap_or(503);
            let (code, message) = if status == 500 {
                (
                    "InternalError",
                    "The request processing has failed due to some unknown error, exception or failure.",
                )
            } else {
                (
                    "ServiceUnavailable",
                    "The request has failed due to a temporary failure of the server.",
                )
            };
            let error = ApiError {
                status,
                code: fault.code.clone().unwrap_or_else(|| code.to_string()),
                message: fault.message.clone().unwrap_or_else(|| message.to_string()),
                retry_after: fault.retry_after,
            };
            done(&error.code, status);
            Ok(error_response(&state, &error, &request_id, &host))
        }
        FaultKind::Drop => {
            done("ok", 0);
            Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "drop fault",
            ))
        }
        FaultKind::Html => {
            let status = fault.status.unwrap_or(502);
            done("ok", status);
            let page = format!(
                "<html>\r\n<head><title>{status} Bad Gateway</title></head>\r\n<body>\r\n<center><h1>{status} Bad Gateway</h1></center>\r\n<hr><center>Tengine</center>\r\n</body>\r\n</html>\r\n"
            );
            Ok(base_response(&state, status, &request_id)
                .header(hyper::header::CONTENT_TYPE, "text/html")
                .body(EmuBody::full(page))
                .expect("valid response"))
        }
        FaultKind::Garbage => {
            done("ok", 200);
            let mut junk = Vec::with_capacity(600);
            junk.extend_from_slice(b"\x00\xff\xfe\x1b[31m\x89PNG\r\n\x1a\n");
            junk.extend((0..512u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
            Ok(base_response(&state, 200, &request_id)
                .header(
                    hyper::header::CONTENT_TYPE,
                    "application/json;charset=utf-8",
                )
                .body(EmuBody::full(junk))
                .expect("valid response"))
        }
        FaultKind::Truncate => {
            let body = json!({
                "RequestId": request_id,
                "Code": "200",
                "Message": "success",
                "Data": {"OperationId": decision.operation_id, "Status": "RUNNING"},
            })
            .to_string()
            .into_bytes();
            let sent = body.len() / 2;
            let announced = fault
                .bytes
                .unwrap_or(body.len() as u64)
                .max(body.len() as u64);
            done("ok", 200);
            let (tx, rx) = mpsc::channel(2);
            tokio::spawn(async move {
                let _guard = guard;
                let _ = tx.send(Ok(Bytes::copy_from_slice(&body[..sent]))).await;
                tokio::time::sleep(Duration::from_millis(50)).await;
                let _ = tx
                    .send(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "truncate fault",
                    )))
                    .await;
            });
            Ok(stream_response(&state, 200, &request_id, announced, rx))
        }
        FaultKind::Oversize => {
            let total = fault.bytes.unwrap_or(20_000_000);
            let prefix = format!(
                "{{\"RequestId\":\"{request_id}\",\"Code\":\"200\",\"Message\":\"success\",\"Data\":{{\"OperationId\":{},\"Status\":\"RUNNING\",\"Message\":\"",
                serde_json::to_string(&decision.operation_id.clone().unwrap_or_default()).expect("JSON")
            );
            let suffix = "\"}}";
            let fixed = (prefix.len() + suffix.len()) as u64;
            let total = total.max(fixed);
            done("ok", 200);
            let (tx, rx) = mpsc::channel(4);
            tokio::spawn(async move {
                let _guard = guard;
                if tx.send(Ok(Bytes::from(prefix))).await.is_err() {
                    return;
                }
                let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
                let mut remaining = total - fixed;
                while remaining > 0 {
                    let n = remaining.min(chunk.len() as u64) as usize;
                    if tx.send(Ok(chunk.slice(..n))).await.is_err() {
                        return;
                    }
                    remaining -= n as u64;
                }
                let _ = tx.send(Ok(Bytes::from_static(suffix.as_bytes()))).await;
            });
            Ok(stream_response(&state, 200, &request_id, total, rx))
        }
        FaultKind::Trickle => {
            let (status, body, _) = normal.clone().expect("trickle serves the answer");
            done(&verdict_of(&normal), status);
            let interval = fault.interval.unwrap_or(Duration::from_secs(1));
            let len = body.len() as u64;
            let (tx, rx) = mpsc::channel(1);
            tokio::spawn(async move {
                let _guard = guard;
                for (i, byte) in body.into_iter().enumerate() {
                    if i > 0 {
                        tokio::time::sleep(interval).await;
                    }
                    if tx.send(Ok(Bytes::copy_from_slice(&[byte]))).await.is_err() {
                        return;
                    }
                }
            });
            Ok(stream_response(&state, status, &request_id, len, rx))
        }
    }
}

fn stream_response(
    state: &State,
    status: u16,
    request_id: &str,
    content_length: u64,
    rx: mpsc::Receiver<Result<Bytes, io::Error>>,
) -> Response<EmuBody> {
    base_response(state, status, request_id)
        .header(
            hyper::header::CONTENT_TYPE,
            "application/json;charset=utf-8",
        )
        .header(hyper::header::CONTENT_LENGTH, content_length)
        .body(EmuBody::channel(rx))
        .expect("valid response")
}

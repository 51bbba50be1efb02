/*!
`bpstudio-emulator`: a local, signature-verifying stand-in for the Alibaba Cloud BPStudio
(CADT) RPC API, for tests, demos and offline CI dry runs.

It verifies RPC signature V1 (`HMAC-SHA1`) and `ACS3-HMAC-SHA256` (V3) with its own code
([`verify`]), answers `GetExecuteOperationResult` and `ExecuteOperationASync` from a
[`Scenario`] (credentials, clock, lifecycles, faults), and records every request
([`RequestRecord`]) for tests to read.

```no_run
let emulator = bpstudio_emulator::start(
    bpstudio_emulator::Scenario::demo().with_access_key("LTAIexample", "secret"),
)?;
println!("{}", emulator.url());
# Ok::<(), std::io::Error>(())
```
*/

pub mod scenario;
mod server;
pub mod verify;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;

use serde::Serialize;

pub use scenario::{
    Credential, CredentialsUri, Fault, FaultKind, Imds, Lifecycle, OperationSpec, Role, Rule,
    Scenario, Settings, Step, StepStart, DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET,
    DEMO_ECS_ROLE_NAME, DEMO_EXPIRED_ID, DEMO_FAILURE_ID, DEMO_OIDC_PROVIDER_ARN, DEMO_ROLE_ARN,
    DEMO_STS_ACCESS_KEY_ID, DEMO_STS_ACCESS_KEY_SECRET, DEMO_STS_SECURITY_TOKEN, DEMO_SUCCESS_ID,
};
pub use server::API_VERSION;

/// One request as the emulator saw it (also one line of `--log`).
#[derive(Clone, Debug, Serialize)]
pub struct RequestRecord {
    /// HTTP method.
    pub method: String,
    /// `Action` (V1) or `x-acs-action` (V3).
    pub action: Option<String>,
    /// `"v1"` or `"v3"`; `None` when the request carried no signature at all.
    pub signature_version: Option<String>,
    /// The access key id the request claimed.
    pub access_key_id: Option<String>,
    /// `OperationId`, or the id `ExecuteOperationASync` created.
    pub operation_id: Option<String>,
    /// Query and form parameters, decoded and merged (the form wins on a clash).
    pub params: BTreeMap<String, String>,
    /// `"ok"`, the error `Code` answered, or `"pending"` while the request is in flight.
    pub verdict: String,
    /// HTTP status sent; 0 when none was (`drop`, or still in flight).
    pub http_status: u16,
    /// The fault kind injected, if any.
    pub fault: Option<String>,
    /// Arrival, in milliseconds since the emulator started.
    pub started_ms: u64,
    /// Until the response head was ready, in milliseconds.
    pub duration_ms: u64,
}

/// A running emulator. Dropping it stops the server.
pub struct EmulatorHandle {
    addr: SocketAddr,
    state: Arc<server::State>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl EmulatorHandle {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<ip>:<port>`, the endpoint to give a client.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request seen so far, in arrival order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.state.records.lock().unwrap().clone()
    }

    /// The highest number of requests in flight at once (delayed and streaming ones included).
    pub fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }

    /// The scenario being served.
    pub fn scenario(&self) -> &Scenario {
        &self.state.scenario
    }

    /// Stops the server and waits for its thread.
    pub fn stop(mut self) {
        self.shutdown_now();
    }

    fn shutdown_now(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        self.shutdown_now();
    }
}

/// Starts an emulator on `127.0.0.1` at a free port, on its own thread and tokio runtime.
pub fn start(scenario: Scenario) -> std::io::Result<EmulatorHandle> {
    start_on(scenario, SocketAddr::from(([127, 0, 0, 1], 0)))
}

/// Starts an emulator on `addr` (port 0: any free port).
pub fn start_on(scenario: Scenario, addr: SocketAddr) -> std::io::Result<EmulatorHandle> {
    start_with_log(scenario, addr, None)
}

/// Like [`start_on`], also writing each request as one JSON line to `log`.
pub fn start_with_log(
    scenario: Scenario,
    addr: SocketAddr,
    log: Option<Box<dyn Write + Send>>,
) -> std::io::Result<EmulatorHandle> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let state = Arc::new(server::State::new(scenario, log));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let thread_state = state.clone();
    let thread = std::thread::Builder::new()
        .name("bpstudio-emulator".to_string())
        .spawn(move || runtime.block_on(serve(listener, thread_state, rx)))?;
    Ok(EmulatorHandle {
        addr,
        state,
        shutdown: Some(tx),
        thread: Some(thread),
    })
}

async fn serve(
    listener: std::net::TcpListener,
    state: Arc<server::State>,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("bpstudio-emulator: cannot listen: {e}");
            return;
        }
    };
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((stream, _peer)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let state = state.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        server::handle(state.clone(), req)
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .timer(hyper_util::rt::TokioTimer::new())
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        }
    }
}

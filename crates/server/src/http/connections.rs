//! The HTTP/1.1 connection loop in front of the router.
//!
//! It exists so that idle or slow clients cannot hold the server:
//! - every connection that is not being served has a deadline: `--idle-timeout` while it waits
//!   for a request, `--header-read-timeout` once a request has begun to arrive;
//! - open connections are capped below the open-files limit, and when the cap is reached the
//!   connection that has waited longest without a request makes room (as nginx reuses its
//!   keep-alive connections), so a flood of idle sockets cannot lock out real clients;
//! - accept errors (out of file descriptors) back off instead of spinning;
//! - on shutdown, waiting connections close at once and in-flight requests get
//!   `--shutdown-timeout` to finish.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tokio::time::Instant;
use tower::ServiceExt;

use super::client_address::ClientAddress;
use super::connection_io::ConnectionIo;
use super::observed_body::{BodyObserver, ObservedBody};
use crate::metrics::Metrics;

/// The limits of `voxprint serve`'s connection handling.
#[derive(Debug, Clone)]
pub struct ConnectionSettings {
    /// From the first byte of a request until its headers are complete.
    pub header_read_timeout: Duration,
    /// How long a connection may wait for its next request (or its first).
    pub idle_timeout: Duration,
    /// Open connections at most; already lowered to what the open-files limit allows.
    pub max_connections: usize,
    /// How long in-flight requests may take to finish once shutdown begins.
    pub shutdown_timeout: Duration,
}

/// The request line and headers together, at most (hyper answers 431 past it).
pub(super) const MAX_HEADER_BYTES: usize = 64 * 1024;

/// File descriptors kept for everything but client connections: the database, audio files,
/// the model, PostgreSQL and S3 connections, logs.
const RESERVED_FILES: u64 = 128;

/// Raises the soft open-files limit to the hard one and returns how many connections fit in
/// it, at most `configured`. Logs what it changed and warns when the limit lowers the cap.
pub fn connection_capacity(configured: usize) -> usize {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit only read or write the struct passed by pointer.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        tracing::warn!("cannot read the open-files limit; keeping --max-connections {configured}");
        return configured;
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            tracing::info!(from = limit.rlim_cur, to = limit.rlim_max, "raised the open-files limit");
            limit = raised;
        }
    }
    let room = limit.rlim_cur.saturating_sub(RESERVED_FILES).max(16);
    let capacity = (configured as u64).min(room) as usize;
    if capacity < configured {
        tracing::warn!(
            open_files = limit.rlim_cur,
            max_connections = capacity,
            "the open-files limit allows fewer connections than --max-connections; raise it (LimitNOFILE, ulimit -n)"
        );
    }
    capacity
}

/// Serves `router` on `listener` until `shutdown` resolves, then drains as described above.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    settings: ConnectionSettings,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()>,
) {
    let settings = Arc::new(settings);
    let registry = Arc::new(Registry::default());
    let (stop_sender, stop) = watch::channel(false);
    let mut backoff = AcceptBackoff::default();
    tokio::pin!(shutdown);
    loop {
        if registry.len() >= settings.max_connections && !registry.evict_longest_waiting(&metrics) {
            // Every connection is serving a request: accept again when one closes.
            tokio::select! {
                _ = registry.wait_for_close() => continue,
                () = &mut shutdown => break,
            }
        }
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        match accepted {
            Ok((stream, peer)) => {
                backoff.reset();
                let _ = stream.set_nodelay(true);
                let activity = registry.open();
                metrics.open_connections.inc();
                let task = Connection {
                    activity,
                    settings: settings.clone(),
                    metrics: metrics.clone(),
                    registry: registry.clone(),
                    stop: stop.clone(),
                };
                tokio::spawn(task.run(stream, peer, router.clone()));
            }
            // The client gave up before we accepted: nothing to do.
            Err(err) if is_per_connection(&err) => {}
            Err(err) => backoff.wait(&err).await,
        }
    }
    drop(listener);
    tracing::info!(open = registry.len(), "shutting down: closing waiting connections, finishing in-flight requests");
    let _ = stop_sender.send(true);
    let deadline = Instant::now() + settings.shutdown_timeout;
    while registry.len() > 0 {
        tokio::select! {
            () = registry.wait_for_close() => {}
            () = tokio::time::sleep_until(deadline) => {
                tracing::warn!(
                    open = registry.len(),
                    seconds = settings.shutdown_timeout.as_secs(),
                    "shutdown deadline reached; closing the remaining connections"
                );
                break;
            }
        }
    }
}

fn is_per_connection(err: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(err.kind(), ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted | WouldBlock)
}

/// Sleeps after an accept error (typically EMFILE), doubling from 10 ms to 1 s, and logs at most
/// once a second.
#[derive(Default)]
struct AcceptBackoff {
    delay: Duration,
    last_log: Option<Instant>,
}

impl AcceptBackoff {
    fn reset(&mut self) {
        self.delay = Duration::ZERO;
    }

    async fn wait(&mut self, err: &std::io::Error) {
        self.delay = (self.delay * 2).clamp(Duration::from_millis(10), Duration::from_secs(1));
        if self.last_log.is_none_or(|at| at.elapsed() >= Duration::from_secs(1)) {
            self.last_log = Some(Instant::now());
            tracing::warn!(%err, retry_ms = self.delay.as_millis() as u64, "cannot accept connections");
        }
        tokio::time::sleep(self.delay).await;
    }
}

/// The open connections, for the cap and for shutdown.
#[derive(Default)]
struct Registry {
    open: Mutex<HashMap<u64, Arc<Activity>>>,
    next_id: AtomicU64,
    /// Notified whenever a connection leaves the registry.
    closed: Notify,
}

impl Registry {
    fn len(&self) -> usize {
        self.open.lock().unwrap().len()
    }

    fn open(&self) -> Arc<Activity> {
        let activity = Arc::new(Activity::new(self.next_id.fetch_add(1, Ordering::Relaxed)));
        self.open.lock().unwrap().insert(activity.id, activity.clone());
        activity
    }

    /// Returns when a connection may have closed (a missed notification costs 50 ms at most).
    async fn wait_for_close(&self) {
        let _ = tokio::time::timeout(Duration::from_millis(50), self.closed.notified()).await;
    }

    fn remove(&self, id: u64) {
        if self.open.lock().unwrap().remove(&id).is_some() {
            self.closed.notify_waiters();
        }
    }

    /// Closes the connection that has waited longest without a request; false if every
    /// connection is serving one. It leaves the registry at once, so the cap counts it no more.
    fn evict_longest_waiting(&self, metrics: &Metrics) -> bool {
        let mut open = self.open.lock().unwrap();
        let Some((&id, _)) = open
            .iter()
            .filter_map(|(id, activity)| Some((id, activity.waiting_since()?)))
            .min_by_key(|(_, since)| *since)
        else {
            return false;
        };
        if let Some(activity) = open.remove(&id) {
            activity.close();
            metrics.closed_connections.with_label_values(&["evicted"]).inc();
        }
        true
    }
}

/// What one connection is doing, shared by its task, its I/O wrapper and its requests.
pub(super) struct Activity {
    id: u64,
    state: Mutex<ActivityState>,
    /// Wakes the connection's task when its deadline moves earlier or it must close.
    wake: Notify,
}

struct ActivityState {
    /// Requests being served, from the router's call until their response body is sent.
    requests: usize,
    /// When the connection last started waiting for a request.
    waiting_since: Instant,
    /// When the first byte of the next request arrived, while waiting.
    head_started: Option<Instant>,
    closing: bool,
}

impl Activity {
    fn new(id: u64) -> Activity {
        let state = ActivityState { requests: 0, waiting_since: Instant::now(), head_started: None, closing: false };
        Activity { id, state: Mutex::new(state), wake: Notify::new() }
    }

    /// Bytes arrived from the client; while waiting, they start a request head.
    pub(super) fn bytes_received(&self) {
        let mut state = self.state.lock().unwrap();
        if state.requests == 0 && state.head_started.is_none() {
            state.head_started = Some(Instant::now());
            drop(state);
            self.wake.notify_one();
        }
    }

    /// True while a request is being served: what the connection writes then is its response.
    pub(super) fn is_serving(&self) -> bool {
        self.state.lock().unwrap().requests > 0
    }

    fn request_started(&self) {
        let mut state = self.state.lock().unwrap();
        state.requests += 1;
        state.head_started = None;
    }

    fn request_finished(&self) {
        let mut state = self.state.lock().unwrap();
        state.requests -= 1;
        if state.requests == 0 {
            state.waiting_since = Instant::now();
            state.head_started = None;
            drop(state);
            self.wake.notify_one();
        }
    }

    fn waiting_since(&self) -> Option<Instant> {
        let state = self.state.lock().unwrap();
        (state.requests == 0).then_some(state.waiting_since)
    }

    fn close(&self) {
        self.state.lock().unwrap().closing = true;
        self.wake.notify_one();
    }

    /// Why the connection must close now, if it must.
    fn closing_reason(&self, settings: &ConnectionSettings) -> Option<&'static str> {
        let state = self.state.lock().unwrap();
        let now = Instant::now();
        if state.closing {
            Some("evicted")
        } else if state.requests > 0 {
            None
        } else if let Some(started) = state.head_started {
            (now >= started + settings.header_read_timeout).then_some("header_timeout")
        } else {
            (now >= state.waiting_since + settings.idle_timeout).then_some("idle_timeout")
        }
    }

    /// When the connection's current wait runs out; `None` while serving.
    fn deadline(&self, settings: &ConnectionSettings) -> Option<Instant> {
        let state = self.state.lock().unwrap();
        match (state.requests, state.head_started) {
            (0, Some(started)) => Some(started + settings.header_read_timeout),
            (0, None) => Some(state.waiting_since + settings.idle_timeout),
            _ => None,
        }
    }
}

/// One accepted connection's task.
struct Connection {
    activity: Arc<Activity>,
    settings: Arc<ConnectionSettings>,
    metrics: Arc<Metrics>,
    registry: Arc<Registry>,
    stop: watch::Receiver<bool>,
}

impl Connection {
    async fn run(mut self, stream: TcpStream, peer: std::net::SocketAddr, router: Router) {
        let io = TokioIo::new(ConnectionIo::new(stream, self.activity.clone()));
        let service = RouterService { router, activity: self.activity.clone(), client: ClientAddress(peer) };
        let connection = hyper::server::conn::http1::Builder::new()
            .max_header_size(MAX_HEADER_BYTES)
            .serve_connection(io, service)
            .with_upgrades();
        tokio::pin!(connection);
        let mut stopping = false;
        let reason = loop {
            let deadline = self.activity.deadline(&self.settings);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(err) = result {
                        tracing::debug!(%err, "connection ended with an error");
                    }
                    break None;
                }
                () = sleep_until(deadline) => {
                    if let Some(reason) = self.activity.closing_reason(&self.settings) {
                        break Some(reason);
                    }
                }
                () = self.activity.wake.notified() => {
                    if let Some(reason) = self.activity.closing_reason(&self.settings) {
                        break Some(reason);
                    }
                }
                _ = self.stop.changed(), if !stopping => {
                    stopping = true;
                    // Lets a request in flight finish, then closes; a waiting connection closes now.
                    connection.as_mut().graceful_shutdown();
                    if !self.activity.is_serving() {
                        break Some("shutdown");
                    }
                }
            }
        };
        if let Some(reason) = reason {
            // "evicted" was counted when it happened.
            if reason != "evicted" {
                self.metrics.closed_connections.with_label_values(&[reason]).inc();
            }
            tracing::debug!(reason, "closing connection");
        }
        self.metrics.open_connections.dec();
        self.registry.remove(self.activity.id);
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// The router as hyper calls it, marking the connection as serving until the response body
/// has been sent.
#[derive(Clone)]
struct RouterService {
    router: Router,
    activity: Arc<Activity>,
    /// Given to every request, for the audit trail.
    client: ClientAddress,
}

impl hyper::service::Service<Request<Incoming>> for RouterService {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn call(&self, mut request: Request<Incoming>) -> Self::Future {
        let serving = Serving::new(self.activity.clone());
        request.extensions_mut().insert(self.client);
        let response = self.router.clone().oneshot(request.map(Body::new));
        Box::pin(async move {
            let response = response.await?;
            Ok(response.map(|body| ObservedBody::wrap(body, serving)))
        })
    }
}

/// Held for as long as a request is being served; dropping it ends the request.
struct Serving(Arc<Activity>);

impl Serving {
    fn new(activity: Arc<Activity>) -> Serving {
        activity.request_started();
        Serving(activity)
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// The response body keeps its request marked as serving until hyper drops it, which it does
/// once the body has been sent (or the client went away).
impl BodyObserver for Serving {}

//! What every fake vendor server shares: an actix-web server on `127.0.0.1:0`, on its own
//! thread and actix system (so it works from any test runtime), with `TCP_NODELAY` on accepted
//! sockets (without it the first streamed event waits ~40 ms), one worker, no signal handling;
//! and the [`Recorder`] of what it received.

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpRequest, HttpServer, web};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// A running fake server; stops when dropped.
#[derive(Debug)]
pub(crate) struct FakeServer {
    /// The bound address.
    pub(crate) addr: SocketAddr,
    handle: ServerHandle,
}

impl FakeServer {
    /// Starts a server named `name` (the thread's name) whose routes `configure` registers.
    ///
    /// # Panics
    /// When the server thread cannot start or bind (a broken test environment).
    pub(crate) fn start<F>(name: &str, configure: F) -> Self
    where
        F: Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    let server = HttpServer::new(move || App::new().configure(configure.clone()))
                        .workers(1)
                        .disable_signals()
                        .shutdown_timeout(0)
                        .on_connect(|conn, _| {
                            if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>()
                            {
                                let _ = tcp.set_nodelay(true);
                            }
                        })
                        .bind(("127.0.0.1", 0));
                    let server = match server {
                        Ok(s) => s,
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    };
                    let addr = server.addrs()[0];
                    let running = server.run();
                    let _ = tx.send(Ok((addr, running.handle())));
                    let _ = running.await;
                });
            })
            .unwrap_or_else(|e| panic!("spawning the {name} server thread: {e}"));
        let (addr, handle) = rx
            .recv()
            .unwrap_or_else(|e| panic!("the {name} server thread reports its address: {e}"))
            .unwrap_or_else(|e| panic!("binding the {name} server to 127.0.0.1:0: {e}"));
        FakeServer { addr, handle }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        // `stop` sends its command at once; the returned future only waits for completion.
        drop(self.handle.stop(false));
    }
}

/// What a fake saw: request count, the last request's body, path, URI and headers, and how
/// its streams ended. Shared between a fake's handle and its server thread.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    /// Requests received on any route, including refused ones.
    pub(crate) requests: AtomicUsize,
    last_body: Mutex<Option<Value>>,
    last_headers: Mutex<Vec<(String, String)>>,
    last_path: Mutex<Option<String>>,
    last_uri: Mutex<Option<String>>,
    /// Streams sent in full.
    pub(crate) streams_completed: AtomicUsize,
    /// A client went away before a stream was sent in full.
    pub(crate) client_disconnected: AtomicBool,
}

/// Locks `m`, ignoring poisoning: a panicking test thread must not hide what a fake recorded.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Recorder {
    /// Counts `req` and keeps its body (as JSON, when it is), path, URI and headers.
    pub(crate) fn record(&self, req: &HttpRequest, body: &[u8]) {
        self.requests.fetch_add(1, Ordering::SeqCst);
        *lock(&self.last_body) = serde_json::from_slice(body).ok();
        *lock(&self.last_path) = Some(req.path().to_owned());
        *lock(&self.last_uri) = Some(req.uri().to_string());
        *lock(&self.last_headers) = req
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
    }

    pub(crate) fn request_count(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    pub(crate) fn last_body(&self) -> Option<Value> {
        lock(&self.last_body).clone()
    }

    pub(crate) fn last_path(&self) -> Option<String> {
        lock(&self.last_path).clone()
    }

    pub(crate) fn last_uri(&self) -> Option<String> {
        lock(&self.last_uri).clone()
    }

    /// A header of the last request, by case-insensitive name.
    pub(crate) fn last_header(&self, name: &str) -> Option<String> {
        let name = name.to_ascii_lowercase();
        lock(&self.last_headers)
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    }

    pub(crate) fn streams_completed(&self) -> usize {
        self.streams_completed.load(Ordering::SeqCst)
    }

    pub(crate) fn client_disconnected(&self) -> bool {
        self.client_disconnected.load(Ordering::SeqCst)
    }

    /// Waits up to `timeout` for a client disconnect; returns whether one happened.
    pub(crate) async fn wait_for_disconnect(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while !self.client_disconnected() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.client_disconnected()
    }
}

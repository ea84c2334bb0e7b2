//! An ESC/POS printer on loopback TCP for tests and demos.
//!
//! It listens on `127.0.0.1:<free port>`, answers `DLE EOT n` like a real printer in the
//! chosen [`SimMode`], and keeps every other byte: bytes received while it could print are the
//! job bytes, the rest are kept apart as ignored. Status requests are taken out of the byte
//! stream wherever they appear, as real printers do with real-time commands. Dropping the
//! simulator stops its listener and all its connections.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{AbortHandle, JoinSet};

use super::status::{status_reply, PrinterCondition, StatusRequest, STATUS_OK};
use super::target::PrinterTarget;

/// What the simulated printer does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SimMode {
    /// Prints everything.
    Ready,
    /// Prints, and reports the paper roll near its end.
    PaperNearEnd,
    PaperOut,
    CoverOpen,
    Offline,
    /// Unrecoverable error (e.g. cutter jam).
    Error,
    /// Ready until job bytes arrive, then out of paper: the job is cut short.
    PaperOutDuringJob,
    /// Answers status, then closes the connection when job bytes arrive.
    DropMidJob,
    /// Accepts connections and data but never answers status requests.
    Silent,
    /// Not listening: connections are refused.
    Refuse,
}

#[derive(Debug, Default)]
struct SimState {
    job: Vec<u8>,
    ignored: Vec<u8>,
    status_requests: Vec<u8>,
    connections: usize,
    /// Set by `PaperOutDuringJob` once job bytes arrived; cleared by any mode change.
    paper_ran_out: bool,
}

/// The simulated printer. Create it inside a tokio runtime.
pub struct PrinterSimulator {
    addr: SocketAddr,
    state: Arc<Mutex<SimState>>,
    mode_tx: watch::Sender<SimMode>,
    listening_rx: watch::Receiver<bool>,
    accept_task: AbortHandle,
}

impl PrinterSimulator {
    /// Binds `127.0.0.1:0` and starts serving in [`SimMode::Ready`].
    pub async fn start() -> io::Result<Self> {
        Self::start_in(SimMode::Ready).await
    }

    /// Binds `127.0.0.1:0` and starts serving in `mode`.
    pub async fn start_in(mode: SimMode) -> io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(SimState::default()));
        let (mode_tx, mode_rx) = watch::channel(SimMode::Ready);
        let (listening_tx, listening_rx) = watch::channel(true);
        let accept_task = tokio::spawn(accept_loop(
            listener,
            addr,
            Arc::clone(&state),
            mode_rx,
            listening_tx,
        ))
        .abort_handle();
        let sim = PrinterSimulator {
            addr,
            state,
            mode_tx,
            listening_rx,
            accept_task,
        };
        sim.set_mode(mode).await?;
        Ok(sim)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `tcp://127.0.0.1:<port>`.
    pub fn target(&self) -> PrinterTarget {
        PrinterTarget::Tcp {
            host: self.addr.ip().to_string(),
            port: self.addr.port(),
        }
    }

    pub fn mode(&self) -> SimMode {
        *self.mode_tx.borrow()
    }

    /// Switches mode. Entering or leaving [`SimMode::Refuse`] waits until the listener is
    /// closed or bound again (the same port), so the next connect sees the new state.
    pub async fn set_mode(&self, mode: SimMode) -> io::Result<()> {
        self.lock().paper_ran_out = false;
        self.mode_tx.send_replace(mode);
        let want_listening = mode != SimMode::Refuse;
        let mut rx = self.listening_rx.clone();
        let wait = async { rx.wait_for(|&l| l == want_listening).await.map(|_| ()) };
        match tokio::time::timeout(Duration::from_secs(3), wait).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(io::Error::other("printer simulator stopped")),
            Err(_) => Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("printer simulator could not listen on {} again", self.addr),
            )),
        }
    }

    /// Bytes the printer took for printing (status requests removed).
    pub fn job_bytes(&self) -> Vec<u8> {
        self.lock().job.clone()
    }

    /// Returns and clears the job bytes.
    pub fn take_job_bytes(&self) -> Vec<u8> {
        std::mem::take(&mut self.lock().job)
    }

    /// Bytes received while the printer could not print (or just before it dropped a
    /// connection); they were not printed.
    pub fn ignored_bytes(&self) -> Vec<u8> {
        self.lock().ignored.clone()
    }

    /// The `n` of every `DLE EOT n` received, in order.
    pub fn status_requests(&self) -> Vec<u8> {
        self.lock().status_requests.clone()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.lock().connections
    }

    fn lock(&self) -> MutexGuard<'_, SimState> {
        lock(&self.state)
    }
}

impl Drop for PrinterSimulator {
    fn drop(&mut self) {
        // The accept task owns the listener and a JoinSet of connections; aborting it drops
        // both, which aborts every connection task.
        self.accept_task.abort();
    }
}

fn lock(state: &Mutex<SimState>) -> MutexGuard<'_, SimState> {
    // A panic elsewhere must not take the simulator down with it.
    state.lock().unwrap_or_else(|e| e.into_inner())
}

async fn accept_loop(
    listener: TcpListener,
    addr: SocketAddr,
    state: Arc<Mutex<SimState>>,
    mut mode_rx: watch::Receiver<SimMode>,
    listening_tx: watch::Sender<bool>,
) {
    let mut listener = Some(listener);
    let mut conns = JoinSet::new();
    loop {
        let refuse = *mode_rx.borrow_and_update() == SimMode::Refuse;
        if refuse && listener.is_some() {
            listener = None;
        } else if !refuse && listener.is_none() {
            // mio sets SO_REUSEADDR, so the port we just closed can be bound again.
            listener = TcpListener::bind(addr).await.ok();
        }
        listening_tx.send_replace(listener.is_some());
        let rebind_retry = !refuse && listener.is_none();

        tokio::select! {
            accepted = accept(listener.as_ref()) => {
                if let Ok((sock, _)) = accepted {
                    lock(&state).connections += 1;
                    conns.spawn(serve(sock, Arc::clone(&state), mode_rx.clone()));
                }
            }
            changed = mode_rx.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            _ = tokio::time::sleep(Duration::from_millis(50)), if rebind_retry => {}
        }
    }
}

async fn accept(listener: Option<&TcpListener>) -> io::Result<(TcpStream, SocketAddr)> {
    match listener {
        Some(l) => l.accept().await,
        None => std::future::pending().await,
    }
}

/// One connection: split status requests from job bytes and answer them.
async fn serve(
    mut sock: TcpStream,
    state: Arc<Mutex<SimState>>,
    mode_rx: watch::Receiver<SimMode>,
) {
    let _ = sock.set_nodelay(true);
    let mut buf = [0u8; 4096];
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let n = match sock.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        pending.extend_from_slice(&buf[..n]);
        let mode = *mode_rx.borrow();
        let mut replies = Vec::new();
        let mut drop_connection = false;
        // Bytes of the read that ran the paper out still count as (partly) printed.
        let mut printing_this_read = false;
        let used = {
            let mut st = lock(&state);
            let mut i = 0;
            while i < pending.len() {
                if pending[i] == 0x10 {
                    // Wait for the rest of a possible DLE EOT n split across reads.
                    match pending.get(i + 1) {
                        None => break,
                        Some(0x04) => {
                            let Some(&req) = pending.get(i + 2) else {
                                break;
                            };
                            st.status_requests.push(req);
                            if mode != SimMode::Silent {
                                replies.push(reply(mode, &st, req));
                            }
                            i += 3;
                            continue;
                        }
                        Some(_) => {}
                    }
                }
                let b = pending[i];
                match mode {
                    SimMode::Ready | SimMode::PaperNearEnd => st.job.push(b),
                    SimMode::PaperOutDuringJob if !st.paper_ran_out || printing_this_read => {
                        st.job.push(b);
                        st.paper_ran_out = true;
                        printing_this_read = true;
                    }
                    SimMode::DropMidJob => {
                        st.ignored.push(b);
                        drop_connection = true;
                    }
                    _ => st.ignored.push(b),
                }
                i += 1;
            }
            i
        };
        pending.drain(..used);
        if drop_connection {
            // Dropping the socket with unread data makes the kernel reset the connection,
            // like a printer that lost power mid-job.
            return;
        }
        if !replies.is_empty() && sock.write_all(&replies).await.is_err() {
            break;
        }
    }
    // Whatever was held back waiting for a status request's second byte was data after all.
    if !pending.is_empty() {
        let mut st = lock(&state);
        st.ignored.extend_from_slice(&pending);
    }
}

fn reply(mode: SimMode, st: &SimState, n: u8) -> u8 {
    let condition = match mode {
        SimMode::Ready | SimMode::DropMidJob | SimMode::Silent | SimMode::Refuse => {
            PrinterCondition::Ready
        }
        SimMode::PaperOutDuringJob if !st.paper_ran_out => PrinterCondition::Ready,
        SimMode::PaperOutDuringJob | SimMode::PaperOut => PrinterCondition::PaperOut,
        SimMode::PaperNearEnd => PrinterCondition::PaperNearEnd,
        SimMode::CoverOpen => PrinterCondition::CoverOpen,
        SimMode::Offline => PrinterCondition::Offline,
        SimMode::Error => PrinterCondition::Error,
    };
    match StatusRequest::from_n(n) {
        Some(req) => status_reply(condition, req),
        // Unknown n: a real printer ignores it; answer "nothing set" so clients do not hang.
        None => STATUS_OK,
    }
}

//! Following master data changes: LISTEN on one dedicated connection (a pooled connection's
//! driver drops notifications, so this one is driven with `poll_message`), and a catch-up by
//! change id after every (re)connect and periodically, because a notification sent while the
//! connection was down is gone for good.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_postgres::AsyncMessage;

use super::conn::Target;
use super::Central;

/// What the listener reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenerEvent {
    /// Connected (again); `head` is the master head seen right after LISTEN.
    Connected { head: i64 },
    /// Master data changed up to this change id: fetch with
    /// [`Central::changes_since`] from the last change applied.
    Changed { upto: i64 },
    /// The connection is down; the listener reconnects by itself (reported once per outage).
    Disconnected { error: String },
}

/// A running listener; dropping it stops it and closes its connection.
#[derive(Debug)]
pub struct Listener {
    rx: mpsc::Receiver<ListenerEvent>,
    task: JoinHandle<()>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Central {
    /// Starts a listener on its own connection (not from the pool). `after`: the change id
    /// the bench's copy already holds; a `Changed` is reported at once when the centre is
    /// ahead of it. Needs a tokio runtime.
    pub fn listener(&self, after: i64) -> Listener {
        Listener::start(
            self.target.clone(),
            after,
            self.opts.catch_up_every,
            self.opts.op_timeout,
        )
    }
}

impl Listener {
    pub(crate) fn start(
        target: Arc<Target>,
        after: i64,
        catch_up_every: Duration,
        op_timeout: Duration,
    ) -> Listener {
        let (tx, rx) = mpsc::channel(64);
        let task = tokio::spawn(run(target, after, catch_up_every, op_timeout, tx));
        Listener { rx, task }
    }

    /// The next event; `None` only if the listener task ended (it does not on its own).
    pub async fn recv(&mut self) -> Option<ListenerEvent> {
        self.rx.recv().await
    }

    /// An event if one is waiting.
    pub fn try_recv(&mut self) -> Option<ListenerEvent> {
        self.rx.try_recv().ok()
    }
}

enum End {
    ReceiverGone,
    Lost { error: String, was_up: bool },
}

async fn run(
    target: Arc<Target>,
    mut last: i64,
    every: Duration,
    op_timeout: Duration,
    tx: mpsc::Sender<ListenerEvent>,
) {
    let mut backoff = Duration::from_millis(100);
    let mut down_reported = false;
    loop {
        match session(&target, &mut last, every, op_timeout, &tx).await {
            End::ReceiverGone => return,
            End::Lost { error, was_up } => {
                if was_up {
                    backoff = Duration::from_millis(100);
                    down_reported = false;
                }
                if !down_reported {
                    tracing::warn!(db = %target.db, "master data listener: {error}");
                    if tx
                        .send(ListenerEvent::Disconnected { error })
                        .await
                        .is_err()
                    {
                        return;
                    }
                    down_reported = true;
                }
            }
        }
        // Jitter so 200 benches do not reconnect in the same millisecond after an outage.
        let jitter = Duration::from_millis(jitter_ms(backoff.as_millis() as u64 / 2 + 1));
        tokio::select! {
            _ = tokio::time::sleep(backoff + jitter) => {}
            _ = tx.closed() => return,
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

fn jitter_ms(max: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    (nanos ^ (std::process::id() as u64).wrapping_mul(0x9E37_79B9)) % max
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn session(
    target: &Target,
    last: &mut i64,
    every: Duration,
    op_timeout: Duration,
    tx: &mpsc::Sender<ListenerEvent>,
) -> End {
    let lost = |error: String, was_up: bool| End::Lost { error, was_up };
    let (client, mut conn) = match tokio::time::timeout(op_timeout, target.connect_raw()).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return lost(e.to_string(), false),
        Err(_) => return lost(format!("connecting to {} timed out", target.db), false),
    };
    let (ntx, mut nrx) = mpsc::unbounded_channel::<String>();
    let _driver = AbortOnDrop(tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| conn.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(n))) => {
                    if n.channel() == "packbench_master"
                        && ntx.send(n.payload().to_string()).is_err()
                    {
                        break;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    tracing::debug!("master data listener connection: {}", super::pg_message(&e));
                    break;
                }
                None => break,
            }
        }
    }));
    let head_query = || async {
        match tokio::time::timeout(
            op_timeout,
            client.query_one("SELECT pb_master_head() AS head", &[]),
        )
        .await
        {
            Ok(Ok(r)) => r
                .try_get::<_, i64>("head")
                .map_err(|e| format!("central database {}: {}", target.db, super::pg_message(&e))),
            Ok(Err(e)) => Err(format!(
                "central database {}: {}",
                target.db,
                super::pg_message(&e)
            )),
            Err(_) => Err(format!(
                "central database {}: no answer within {op_timeout:?}",
                target.db
            )),
        }
    };
    match tokio::time::timeout(op_timeout, client.batch_execute("LISTEN packbench_master")).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            return lost(
                format!(
                    "central database {}: LISTEN failed: {}",
                    target.db,
                    super::pg_message(&e)
                ),
                false,
            )
        }
        Err(_) => {
            return lost(
                format!("central database {}: LISTEN timed out", target.db),
                false,
            )
        }
    }
    // Listening first, then reading the head: nothing committed in between is missed.
    let head = match head_query().await {
        Ok(h) => h,
        Err(e) => return lost(e, false),
    };
    tracing::info!(db = %target.db, head, "master data listener connected");
    if tx.send(ListenerEvent::Connected { head }).await.is_err() {
        return End::ReceiverGone;
    }
    let advance = |h: i64, last: &mut i64| -> Option<ListenerEvent> {
        (h > *last).then(|| {
            *last = h;
            ListenerEvent::Changed { upto: h }
        })
    };
    if let Some(ev) = advance(head, last) {
        if tx.send(ev).await.is_err() {
            return End::ReceiverGone;
        }
    }
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        let h = tokio::select! {
            n = nrx.recv() => match n {
                Some(payload) => match payload.parse::<i64>() {
                    Ok(h) => h,
                    Err(_) => match head_query().await {
                        Ok(h) => h,
                        Err(e) => return lost(e, true),
                    },
                },
                None => return lost(format!("central database {}: connection closed", target.db), true),
            },
            _ = tick.tick() => match head_query().await {
                Ok(h) => h,
                Err(e) => return lost(e, true),
            },
            _ = tx.closed() => return End::ReceiverGone,
        };
        if let Some(ev) = advance(h, last) {
            if tx.send(ev).await.is_err() {
                return End::ReceiverGone;
            }
        }
    }
}

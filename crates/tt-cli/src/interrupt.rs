//! Ctrl-C and SIGTERM: cancel the running statement on the server, let the command settle as
//! after any failure (roll back or mark dirty, release the lock), say what state the database
//! is in, and exit 130 (SIGINT) or 143 (SIGTERM). A second signal exits at once.

use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Result;
use tokio::signal::unix::{SignalKind, signal};

use crate::exit::Exit;
use tokio::sync::watch;
use tt_migrate::Canceller;

use crate::commands::Context;

/// The signals tt handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    Int,
    Term,
}

impl Signal {
    fn exit(self) -> Exit {
        match self {
            Signal::Int => Exit::Interrupted,
            Signal::Term => Exit::Terminated,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Signal::Int => "SIGINT",
            Signal::Term => "SIGTERM",
        }
    }
}

/// The command was interrupted by a signal: the error tt exits with (130 or 143).
#[derive(Debug, thiserror::Error)]
#[error("interrupted by {}: {state}", signal.name())]
pub(crate) struct Interrupted {
    signal: Signal,
    state: String,
}

impl Interrupted {
    /// The interruption by the signal received, with `state` saying where things stand;
    /// `None` when no signal came.
    pub(crate) fn by_signal_received(state: String) -> Option<Self> {
        received().map(|signal| Self { signal, state })
    }

    pub(crate) fn exit(&self) -> Exit {
        self.signal.exit()
    }
}

/// Cancellers of the connections the command opened.
static CANCELLERS: Mutex<Vec<Canceller>> = Mutex::new(Vec::new());
/// Whether tt is waiting for an answer on the terminal (nothing runs on the server then).
static AT_PROMPT: AtomicBool = AtomicBool::new(false);
/// The first signal received, if any: work not started yet is not started then.
static RECEIVED: Mutex<Option<Signal>> = Mutex::new(None);

/// The first SIGINT or SIGTERM received, if one came.
pub(crate) fn received() -> Option<Signal> {
    RECEIVED.lock().ok().and_then(|signal| *signal)
}

/// Notes a connection the command opened, so a signal can cancel its statement.
pub(crate) fn register(canceller: Canceller) {
    if let Ok(mut list) = CANCELLERS.lock() {
        list.push(canceller);
    }
}

/// Runs `read` (a blocking read of the terminal); a signal meanwhile ends tt at once.
pub(crate) fn at_prompt<T>(read: impl FnOnce() -> T) -> T {
    AT_PROMPT.store(true, Ordering::SeqCst);
    let out = read();
    AT_PROMPT.store(false, Ordering::SeqCst);
    out
}

/// How long tt keeps cancelling and waiting for the command to settle before it closes the
/// connection instead (the server then rolls back and releases the lock itself).
const SETTLE: Duration = Duration::from_secs(10);
const CANCEL_EVERY: Duration = Duration::from_millis(250);

/// Runs `command`; on SIGINT or SIGTERM cancels what it runs on the server and returns
/// [`Interrupted`] (as context of the command's own error, when it failed).
pub(crate) async fn run(
    ctx: &Context,
    mut signals: Signals,
    command: impl Future<Output = Result<Exit>>,
) -> Result<Exit> {
    // Boxed so that it can be dropped (closing its connections) before tt reads the state.
    let mut command = Box::pin(command);
    let signal = tokio::select! {
        result = &mut command => return result,
        signal = first(&mut signals) => signal,
    };
    let (connected, cancellable) = CANCELLERS
        .lock()
        .map(|list| (!list.is_empty(), list.iter().any(Canceller::can_cancel)))
        .unwrap_or((false, false));
    let mut settled = None;
    if cancellable {
        let deadline = tokio::time::Instant::now() + SETTLE;
        while tokio::time::Instant::now() < deadline {
            cancel_all().await;
            if let Ok(result) = tokio::time::timeout(CANCEL_EVERY, &mut command).await {
                settled = Some(result);
                break;
            }
        }
    }
    let how = match (&settled, connected) {
        (Some(Ok(_)), _) => "the command had finished before it could be stopped",
        (Some(Err(_)), _) => "the running statement was cancelled and the lock released",
        (None, false) => "tt stopped before it connected",
        (None, true) if cancellable => {
            "the command did not stop in time: tt closed its connection, so the server rolls back \
             the open transaction and releases the lock"
        }
        (None, true) => {
            "tt closed its connection, so the open transaction rolled back and the lock is released"
        }
    };
    // A command that says itself where it stands (a fleet: per target) has said it.
    let settled = match settled {
        Some(Err(error)) if error.downcast_ref::<Interrupted>().is_some() => return Err(error),
        other => other,
    };
    // Dropping the command closes its connections.
    drop(command);
    if settled.is_none() && connected {
        // A lease row (`lock = "table"`) outlives the connection: free it now rather than
        // when its lease expires.
        release_leases(ctx).await;
    }
    // Nothing connected, nothing changed: reading the state would connect to a server that
    // may be the reason for the signal (one that accepts and never answers).
    let state = match (connected, ctx.create_schema) {
        (true, _) => format!("{how}; {}", database_state(ctx).await),
        (false, false) => format!("{how}: nothing was changed"),
        (false, true) => format!(
            "{how}: nothing was changed, except perhaps the empty schema --create-schema creates"
        ),
    };
    let interrupted = Interrupted { signal, state };
    match settled {
        Some(Err(error)) => Err(error.context(interrupted)),
        _ => Err(interrupted.into()),
    }
}

/// The signals received, as [`listen`] reports them.
pub(crate) type Signals = watch::Receiver<Option<Signal>>;

/// Starts listening for SIGINT and SIGTERM; the watcher also exits at once on a second signal
/// or on one during a prompt.
pub(crate) fn listen() -> Result<Signals> {
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    let (sender, receiver) = watch::channel(None);
    tokio::spawn(async move {
        let mut seen = false;
        loop {
            let got = tokio::select! {
                _ = int.recv() => Signal::Int,
                _ = term.recv() => Signal::Term,
            };
            if seen || AT_PROMPT.load(Ordering::SeqCst) {
                let why = if seen {
                    "interrupted again: exiting at once; the server rolls back the open \
                     transaction when the connection closes"
                } else {
                    "cancelled at the prompt: nothing was changed"
                };
                eprintln!("\n{why}");
                std::process::exit(got.exit() as i32);
            }
            seen = true;
            if let Ok(mut received) = RECEIVED.lock() {
                *received = Some(got);
            }
            let _ = sender.send(Some(got));
        }
    });
    Ok(receiver)
}

async fn first(signals: &mut Signals) -> Signal {
    loop {
        if let Some(signal) = *signals.borrow_and_update() {
            return signal;
        }
        if signals.changed().await.is_err() {
            // The watcher is gone: no signal will come.
            std::future::pending::<()>().await;
        }
    }
}

async fn cancel_all() {
    let list: Vec<Canceller> = CANCELLERS.lock().map(|l| l.clone()).unwrap_or_default();
    for canceller in list {
        if let Err(error) = canceller.cancel().await {
            tracing::warn!("could not cancel the running statement: {error}");
        }
    }
}

async fn release_leases(ctx: &Context) {
    let tracking = ctx.config.tracking();
    let list: Vec<Canceller> = CANCELLERS.lock().map(|l| l.clone()).unwrap_or_default();
    for canceller in list {
        if let Err(error) = canceller.release_lease(tracking.table()).await {
            tracing::warn!("could not release the migration lock's lease row: {error}");
        }
    }
}

/// One line on where the migrations stand, read on a fresh connection.
async fn database_state(ctx: &Context) -> String {
    let read = async {
        let set = ctx.migrations()?;
        let mut db = tt_migrate::Database::connect(
            &ctx.config.database_url.value,
            ctx.config.connect_options(),
        )
        .await?;
        let status = tt_migrate::Migrator::for_set(&set)
            .tracking(ctx.config.tracking())
            .status(&mut db)
            .await?;
        let _ = db.close().await;
        anyhow::Ok(status)
    };
    match tokio::time::timeout(Duration::from_secs(10), read).await {
        Ok(Ok(status)) => {
            let applied = status.applied.len();
            let total = applied + status.pending.len() + status.dirty.len();
            let mut line = format!("{applied} of {total} migrations applied");
            if let Some(last) = status.applied.last() {
                line.push_str(&format!(" (latest {})", last.version));
            }
            if status.dirty.is_empty() {
                line.push_str(", none dirty");
            } else {
                let dirty: Vec<&str> = status.dirty.iter().map(|d| d.version.as_str()).collect();
                line.push_str(&format!(
                    ", dirty: {} (check the database, then `tt repair`)",
                    dirty.join(", ")
                ));
            }
            if status.stopped_drop.is_some() {
                line.push_str(
                    "; a drop stopped part-way and is marked unfinished (run `tt drop` or \
                     `tt reset` to finish it)",
                );
            }
            line
        }
        Ok(Err(error)) => format!("could not read the state afterwards: {error:#}"),
        Err(_) => "could not read the state afterwards: no answer within 10 s".to_string(),
    }
}

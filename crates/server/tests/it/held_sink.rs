//! A sink in front of another whose appends a test holds at a chosen point until it lets them
//! go: requests become slow for real, and the test, not a clock, decides when they move on.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use arrow::array::RecordBatch;
use futures::future::BoxFuture;
use heatlake_server::{Appended, EventSink, SinkError, SinkStats};
use tokio::sync::{Semaphore, watch};

/// How long a test waits for something that happens at once unless the bound under test is
/// broken: generous, so that only a wait that would never end fails.
pub const NEVER: Duration = Duration::from_secs(20);

/// `future`'s output, or a panic naming `what` after [`NEVER`].
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(NEVER, future)
        .await
        .unwrap_or_else(|_| panic!("still waiting after {NEVER:?} for {what}"))
}

/// Where an append waits until the test lets it go ([`HeldSink::release`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// Appends pass at once.
    Nothing,
    /// Before the inner sink sees the batch. A request dropped meanwhile (timed out, closed)
    /// stores nothing.
    BeforeStoring,
    /// Before the inner sink sees the batch, in a task of its own: once let go, the batch
    /// reaches the inner sink even if its request was dropped meanwhile, as an append already
    /// queued for the WAL writer does.
    BeforeStoringDetached,
    /// After the inner sink stored the batch, before the request hears of it.
    BeforeAnswering,
}

/// The [`EventSink`] in front of `inner` that holds appends as told by [`HeldSink::hold`].
pub struct HeldSink {
    inner: Arc<dyn EventSink>,
    hold: Mutex<Hold>,
    gate: Arc<Semaphore>,
    /// Appends waiting at the gate now.
    waiting: watch::Sender<usize>,
    /// What the inner sink answered, in order (errors as text).
    outcomes: watch::Sender<Vec<Result<Appended, String>>>,
}

impl HeldSink {
    /// A sink in front of `inner` that holds nothing yet.
    pub fn new(inner: Arc<dyn EventSink>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            hold: Mutex::new(Hold::Nothing),
            gate: Arc::new(Semaphore::new(0)),
            waiting: watch::Sender::new(0),
            outcomes: watch::Sender::new(Vec::new()),
        })
    }

    /// Holds the appends that arrive from now on at `hold`.
    pub fn hold(&self, hold: Hold) {
        *self.hold.lock().unwrap_or_else(PoisonError::into_inner) = hold;
    }

    /// Lets `appends` held appends (the first to arrive first) go on.
    pub fn release(&self, appends: usize) {
        self.gate.add_permits(appends);
    }

    /// Waits until exactly `count` appends wait at the gate.
    pub async fn wait_waiting(&self, count: usize) {
        let mut waiting = self.waiting.subscribe();
        within(
            &format!("{count} appends held"),
            waiting.wait_for(|now| *now == count),
        )
        .await
        .expect("the sender lives in self");
    }

    /// Waits until the inner sink answered `count` appends, and returns its answers.
    pub async fn wait_outcomes(&self, count: usize) -> Vec<Result<Appended, String>> {
        let mut outcomes = self.outcomes.subscribe();
        within(
            &format!("{count} appends answered by the inner sink"),
            outcomes.wait_for(|now| now.len() >= count),
        )
        .await
        .expect("the sender lives in self")
        .clone()
    }

    /// What the inner sink answered so far.
    pub fn outcomes(&self) -> Vec<Result<Appended, String>> {
        self.outcomes.borrow().clone()
    }
}

/// Waits at `gate` for a permit, counted in `waiting` while it waits (and no longer once
/// dropped).
async fn pass(gate: &Semaphore, waiting: &watch::Sender<usize>) {
    struct Counted<'a>(&'a watch::Sender<usize>);
    impl Drop for Counted<'_> {
        fn drop(&mut self) {
            self.0.send_modify(|now| *now -= 1);
        }
    }
    waiting.send_modify(|now| *now += 1);
    let _counted = Counted(waiting);
    gate.acquire()
        .await
        .expect("the gate is never closed")
        .forget();
}

/// `inner`'s append, its answer noted in `outcomes`.
async fn store(
    inner: &dyn EventSink,
    outcomes: &watch::Sender<Vec<Result<Appended, String>>>,
    site: &str,
    batch_id: Option<&str>,
    events: RecordBatch,
) -> Result<Appended, SinkError> {
    let outcome = inner.append(site, batch_id, events).await;
    outcomes.send_modify(|all| {
        all.push(outcome.as_ref().map(|a| *a).map_err(ToString::to_string));
    });
    outcome
}

impl EventSink for HeldSink {
    fn append<'a>(
        &'a self,
        site: &'a str,
        batch_id: Option<&'a str>,
        events: RecordBatch,
    ) -> BoxFuture<'a, Result<Appended, SinkError>> {
        let hold = *self.hold.lock().unwrap_or_else(PoisonError::into_inner);
        Box::pin(async move {
            match hold {
                Hold::Nothing => store(&*self.inner, &self.outcomes, site, batch_id, events).await,
                Hold::BeforeStoring => {
                    pass(&self.gate, &self.waiting).await;
                    store(&*self.inner, &self.outcomes, site, batch_id, events).await
                }
                Hold::BeforeStoringDetached => {
                    let (inner, gate) = (Arc::clone(&self.inner), Arc::clone(&self.gate));
                    let (waiting, outcomes) = (self.waiting.clone(), self.outcomes.clone());
                    let (site, batch_id) = (site.to_owned(), batch_id.map(str::to_owned));
                    tokio::spawn(async move {
                        pass(&gate, &waiting).await;
                        store(&*inner, &outcomes, &site, batch_id.as_deref(), events).await
                    })
                    .await
                    .expect("the append does not panic")
                }
                Hold::BeforeAnswering => {
                    let outcome = store(&*self.inner, &self.outcomes, site, batch_id, events).await;
                    pass(&self.gate, &self.waiting).await;
                    outcome
                }
            }
        })
    }

    fn stats(&self) -> SinkStats {
        self.inner.stats()
    }

    fn is_ready(&self) -> bool {
        self.inner.is_ready()
    }

    fn shutdown(&self) -> BoxFuture<'_, Result<(), SinkError>> {
        self.inner.shutdown()
    }
}

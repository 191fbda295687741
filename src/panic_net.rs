//! The net under the request path: a panic anywhere while a request is being
//! answered, in this crate or a dependency, becomes the contract's 500 and the
//! process goes on to serve the next request — up to `PANIC_LIMIT` caught panics,
//! after which the process exits once the answer is posted (`main.rs`).
//!
//! This needs the `unwind` panic strategy, which the release profile uses
//! (docs/architecture.md, "Panics"); under `abort` a panic still ends the process. The
//! request's state is all on its own future, which is dropped after the panic;
//! the store is only read through `&self`, and the SDK's shared state (its
//! connection pool, credentials cache) is synchronized for futures that are
//! dropped half-way, as any timed-out call is.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{self, AssertUnwindSafe, PanicHookInfo};
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll};

/// How much of a panic message reaches the log: enough to find the bug, not
/// enough for a hostile input quoted in the message to flood the log.
const MESSAGE_CHARS: usize = 200;

/// After this many caught panics, the process exits as soon as the last one's
/// 500 is posted (`main.rs`), so Lambda replaces the sandbox. One panic is a bug
/// meeting an input, and the next request starts afresh; panics that keep coming
/// can be a process that is itself broken (a lock a panic left poisoned, a cache
/// a dependency left half-written), which the net alone would keep answering 500s
/// for as long as Lambda keeps the sandbox. Three is past coincidence, and cheap:
/// a replacement costs one cold start (about 10 ms, BENCHMARKS.md), so a caller
/// who can make requests panic at will forces at most one per three requests.
pub const PANIC_LIMIT: u32 = 3;

/// The process's exit status at `PANIC_LIMIT`: sysexits' EX_SOFTWARE (an internal
/// software error), told apart from init's failure (1) and a crash (a signal).
pub const PANIC_LIMIT_EXIT_STATUS: i32 = 70;

/// The panics `catch` has caught in this process.
static CAUGHT: AtomicU32 = AtomicU32::new(0);

/// How many panics `catch` has caught in this process.
pub fn caught_panics() -> u32 {
    CAUGHT.load(Ordering::Relaxed)
}

thread_local! {
    /// Whether a panic on this thread will be caught by `catch`.
    static CATCHING: Cell<bool> = const { Cell::new(false) };
    /// What the hook saw of the last caught panic: its location and message.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// A panic caught on the request path, described for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panic(pub String);

/// Installs the panic hook, once at init. A panic that `catch` will catch is
/// recorded for the request's one log line instead of being printed (the
/// default hook writes several plain-text lines to stderr); any other panic —
/// outside a request, or under `panic = "abort"` — still goes to the default
/// hook, so a dying process says why.
pub fn install_hook() {
    let default_hook = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if cfg!(panic = "unwind") && CATCHING.get() {
            LAST_PANIC.set(Some(describe(info)));
        } else {
            default_hook(info);
        }
    }));
}

/// Runs `future` to completion, or returns the panic it raised.
pub async fn catch<F: Future>(future: F) -> Result<F::Output, Panic> {
    // Boxed: the request future is large and deeply nested, and the runtime's
    // own future would otherwise carry it inline.
    CatchUnwind(Box::pin(future)).await
}

struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Panic>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        CATCHING.set(true);
        let polled = panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx)));
        CATCHING.set(false);
        match polled {
            Ok(poll) => poll.map(Ok),
            Err(payload) => {
                CAUGHT.fetch_add(1, Ordering::Relaxed);
                // Without the hook (in tests), the payload still says what happened.
                let described = LAST_PANIC.take().unwrap_or_else(|| {
                    let message = payload
                        .downcast_ref::<&str>()
                        .copied()
                        .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
                    format!("panicked: {}", bounded(message.unwrap_or("(no message)")))
                });
                Poll::Ready(Err(Panic(described)))
            }
        }
    }
}

fn describe(info: &PanicHookInfo<'_>) -> String {
    let location = info
        .location()
        .map(|at| format!(" at {}:{}", at.file(), at.line()))
        .unwrap_or_default();
    let message = info.payload_as_str().unwrap_or("(no message)");
    format!("panicked{location}: {}", bounded(message))
}

fn bounded(message: &str) -> String {
    message.chars().take(MESSAGE_CHARS).collect()
}

/// The test-only trigger of `tests/api/release_binary.rs`: a program stored in this
/// workspace panics the request after the program read, while the reads keyed by
/// the program id may still be in flight. Compiled only with the `panic-probe`
/// feature, which no deployment builds (`tests/api/template.rs` checks).
#[cfg(feature = "panic-probe")]
pub const PROBE_WORKSPACE_ID: &str = "panic-probe";

#[cfg(feature = "panic-probe")]
#[allow(clippy::panic)]
pub fn probe(workspace_id: &str) {
    if workspace_id == PROBE_WORKSPACE_ID {
        panic!("panic probe: a test asked this request to panic");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_finished_future_passes_through() {
        assert_eq!(catch(async { 42 }).await, Ok(42));
    }

    #[tokio::test]
    async fn a_panic_after_an_await_is_caught_with_its_message() {
        let caught = catch(async {
            tokio::task::yield_now().await;
            let index = "x".repeat(300).len();
            [1, 2, 3][index % 7 + 3]
        })
        .await;
        let Err(Panic(described)) = caught else {
            panic!("not caught: {caught:?}")
        };
        assert!(described.contains("index out of bounds"), "{described}");
    }

    #[tokio::test]
    async fn caught_panics_are_counted() {
        let before = caught_panics();
        let caught = catch(async { std::panic::panic_any("counted") }).await;
        assert!(caught.is_err());
        // Other tests may catch panics meanwhile: the count only grows.
        assert!(caught_panics() > before);
    }

    #[tokio::test]
    async fn long_messages_are_bounded() {
        let long = "a".repeat(10_000);
        let caught = catch(async move {
            if !long.is_empty() {
                std::panic::panic_any(long);
            }
            0
        })
        .await;
        let Err(Panic(described)) = caught else {
            panic!("not caught")
        };
        assert!(described.len() < MESSAGE_CHARS + 20, "{}", described.len());
    }
}

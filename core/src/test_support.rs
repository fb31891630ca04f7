//! Helpers for the tests of this crate and of the crates built on it (feature
//! `test-support`, which their dev-dependencies enable).

use std::future::Future;
use std::task::{Context, Poll, Waker};

/// Runs `future` to its end, polling it with a waker that does nothing: for futures that
/// never wait on anything outside them, such as the asynchronous readbacks of the flex
/// backend, whose data is ready at once.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
    }
}

//! One task at a time per kind of work: a request that comes while a task runs waits, and
//! replaces a waiting request it supersedes where the page shows only the latest answer.

use gloo::worker::HandlerId;

/// Whether a request makes a waiting one needless.
pub trait Supersedes {
    /// Whether `self`, the later request, makes `earlier` needless.
    fn supersedes(&self, earlier: &Self) -> bool;
}

/// The requests of one kind of work, each with who asked (`W`): whether a task runs, and those
/// that wait for it, in order.
pub struct OneAtATime<R, W = HandlerId> {
    busy: bool,
    waiting: Vec<(R, W)>,
}

impl<R, W> Default for OneAtATime<R, W> {
    fn default() -> Self {
        Self {
            busy: false,
            waiting: Vec::new(),
        }
    }
}

impl<R: Supersedes, W> OneAtATime<R, W> {
    /// The request to start now, or `None` when a task runs and the request waits (replacing a
    /// waiting one it supersedes).
    pub fn arrive(&mut self, request: R, who: W) -> Option<(R, W)> {
        if !self.busy {
            self.busy = true;
            return Some((request, who));
        }
        self.waiting
            .retain(|(earlier, _)| !request.supersedes(earlier));
        self.waiting.push((request, who));
        None
    }

    /// The running task finished: the waiting request to start next, if any.
    pub fn finish(&mut self) -> Option<(R, W)> {
        if self.waiting.is_empty() {
            self.busy = false;
            return None;
        }
        Some(self.waiting.remove(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request of kind `.0`, numbered `.1`.
    #[derive(Debug, PartialEq)]
    struct Request(char, u32);

    impl Supersedes for Request {
        fn supersedes(&self, earlier: &Self) -> bool {
            self.0 == earlier.0
        }
    }

    #[test]
    fn requests_wait_for_the_running_task_and_the_latest_of_a_kind_replaces_the_earlier() {
        let mut tasks = OneAtATime::<Request, ()>::default();
        assert_eq!(
            tasks.arrive(Request('a', 1), ()),
            Some((Request('a', 1), ()))
        );
        assert_eq!(tasks.arrive(Request('a', 2), ()), None);
        assert_eq!(tasks.arrive(Request('b', 3), ()), None);
        assert_eq!(tasks.arrive(Request('a', 4), ()), None);
        // In order of arrival, 'a' 2 dropped for 'a' 4.
        assert_eq!(tasks.finish(), Some((Request('b', 3), ())));
        assert_eq!(tasks.arrive(Request('b', 5), ()), None);
        assert_eq!(tasks.finish(), Some((Request('a', 4), ())));
        assert_eq!(tasks.finish(), Some((Request('b', 5), ())));
        assert_eq!(tasks.finish(), None);
        // Idle again: the next request starts at once.
        assert_eq!(
            tasks.arrive(Request('a', 6), ()),
            Some((Request('a', 6), ()))
        );
    }
}

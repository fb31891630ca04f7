//! The real-text readings waiting for the worker. The page sends one at a time, so that what
//! the visitor asks to see (a slice item clicked, a solution pasted) goes ahead of a whole
//! split being read for the decision plot.

use std::collections::VecDeque;

use actprm_core::Trajectory;

/// What a reading is of.
#[derive(Debug, Clone, PartialEq)]
pub enum Job {
    /// The slice item at this index.
    Item(usize),
    /// A pasted solution.
    Own(Trajectory),
}

/// Readings waiting to be sent, and the one the worker is reading.
#[derive(Debug, Default)]
pub struct ReadQueue {
    waiting: VecDeque<Job>,
    in_flight: Option<(u64, Job)>,
    /// The last request's number.
    last_request: u64,
}

impl ReadQueue {
    /// Puts `job` ahead of every waiting one, unless the worker is reading it already. A pasted
    /// solution replaces any other still waiting: only the latest text matters.
    pub fn ask_first(&mut self, job: Job) {
        if self
            .in_flight
            .as_ref()
            .is_some_and(|(_, read)| *read == job)
        {
            return;
        }
        self.waiting.retain(|waiting| {
            *waiting != job && !(matches!(job, Job::Own(_)) && matches!(waiting, Job::Own(_)))
        });
        self.waiting.push_front(job);
    }

    /// Adds the slice items `items` behind the waiting ones, skipping those waiting or being
    /// read.
    pub fn add_items(&mut self, items: impl IntoIterator<Item = usize>) {
        for item in items {
            let job = Job::Item(item);
            let in_flight = self
                .in_flight
                .as_ref()
                .is_some_and(|(_, read)| *read == job);
            if !in_flight && !self.waiting.contains(&job) {
                self.waiting.push_back(job);
            }
        }
    }

    /// Drops the waiting slice items except `keep`; pasted solutions stay.
    pub fn drop_items(&mut self, keep: Option<usize>) {
        self.waiting
            .retain(|job| !matches!(job, Job::Item(item) if Some(*item) != keep));
    }

    /// The next reading to send and its request's number, when the worker reads none.
    pub fn next(&mut self) -> Option<(u64, Job)> {
        if self.in_flight.is_some() {
            return None;
        }
        let job = self.waiting.pop_front()?;
        self.last_request += 1;
        self.in_flight = Some((self.last_request, job.clone()));
        Some((self.last_request, job))
    }

    /// The reading that `request` answers, if it is the one being read.
    pub fn answered(&mut self, request: u64) -> Option<Job> {
        match self.in_flight.take() {
            Some((sent, job)) if sent == request => Some(job),
            other => {
                self.in_flight = other;
                None
            }
        }
    }

    /// How many slice items wait or are being read.
    pub fn items_pending(&self) -> usize {
        let in_flight = self.in_flight.iter().map(|(_, job)| job);
        self.waiting
            .iter()
            .chain(in_flight)
            .filter(|job| matches!(job, Job::Item(_)))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own(question: &str) -> Job {
        Job::Own(Trajectory {
            question: question.to_string(),
            steps: vec!["a step".to_string()],
            label: None,
        })
    }

    /// Sends the next job and answers it at once.
    fn read_next(queue: &mut ReadQueue) -> Option<Job> {
        let (request, job) = queue.next()?;
        assert_eq!(queue.next(), None, "one reading at a time");
        assert_eq!(queue.answered(request), Some(job.clone()));
        Some(job)
    }

    #[test]
    fn what_the_visitor_asks_for_goes_ahead_of_a_split() {
        let mut queue = ReadQueue::default();
        queue.add_items(0..4);
        assert_eq!(read_next(&mut queue), Some(Job::Item(0)));
        queue.ask_first(Job::Item(3));
        queue.ask_first(own("first draft"));
        queue.ask_first(own("second draft"));
        queue.add_items([1, 3, 5]);
        let order: Vec<Job> = std::iter::from_fn(|| read_next(&mut queue)).collect();
        assert_eq!(
            order,
            [
                own("second draft"),
                Job::Item(3),
                Job::Item(1),
                Job::Item(2),
                Job::Item(5)
            ]
        );
    }

    #[test]
    fn a_reading_under_way_is_neither_queued_again_nor_answered_by_another_request() {
        let mut queue = ReadQueue::default();
        queue.add_items([7]);
        let (request, job) = queue.next().unwrap();
        queue.ask_first(Job::Item(7));
        queue.add_items([7]);
        assert_eq!(queue.items_pending(), 1);
        assert_eq!(queue.answered(request + 1), None);
        assert_eq!(queue.answered(request), Some(job));
        assert_eq!(queue.next(), None);
        assert_eq!(queue.items_pending(), 0);
    }

    #[test]
    fn stopping_a_split_keeps_the_asked_for_readings() {
        let mut queue = ReadQueue::default();
        queue.add_items(0..5);
        queue.ask_first(own("mine"));
        queue.drop_items(Some(4));
        let order: Vec<Job> = std::iter::from_fn(|| read_next(&mut queue)).collect();
        assert_eq!(order, [own("mine"), Job::Item(4)]);
    }
}

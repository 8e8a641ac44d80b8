//! A sink's queue: bounded, first in first out. Provisioning never waits for it: an entry
//! offered to a full queue is refused and counted (the newest is the one lost, so what was
//! queued first, in order, still reaches the sink once it answers again).

use std::collections::VecDeque;

/// Entries waiting for a sink, at most `capacity`.
#[derive(Debug)]
pub struct Queue<T> {
    items: VecDeque<T>,
    capacity: usize,
    dropped: u64,
}

impl<T> Queue<T> {
    /// An empty queue holding at most `capacity` (at least one) entries.
    pub fn new(capacity: usize) -> Queue<T> {
        Queue {
            items: VecDeque::new(),
            capacity: capacity.max(1),
            dropped: 0,
        }
    }

    /// Queue `item`; false (and counted) when the queue is full.
    pub fn push(&mut self, item: T) -> bool {
        if self.items.len() >= self.capacity {
            self.dropped += 1;
            return false;
        }
        self.items.push_back(item);
        true
    }

    /// The first `n` entries, left in the queue until [`Queue::done`] says they were sent.
    pub fn peek(&self, n: usize) -> Vec<&T> {
        self.items.iter().take(n).collect()
    }

    /// The first `n` entries were delivered: remove them.
    pub fn done(&mut self, n: usize) {
        let n = n.min(self.items.len());
        self.items.drain(..n);
    }

    /// Entries waiting.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Entries refused since the last call (for the log line and the metric).
    pub fn take_dropped(&mut self) -> u64 {
        std::mem::take(&mut self.dropped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_refuses_and_counts_and_keeps_the_order_of_what_it_holds() {
        let mut q = Queue::new(3);
        for i in 0..5 {
            q.push(i);
        }
        assert_eq!(q.len(), 3);
        assert_eq!(q.take_dropped(), 2);
        assert_eq!(q.take_dropped(), 0);
        assert_eq!(q.peek(2), vec![&0, &1]);
        // Not delivered: still there, in order.
        assert_eq!(q.peek(10), vec![&0, &1, &2]);
        q.done(2);
        assert_eq!(q.peek(10), vec![&2]);
        assert!(q.push(3));
        q.done(10);
        assert!(q.is_empty());
    }
}

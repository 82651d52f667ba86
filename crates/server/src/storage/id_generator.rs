//! Time-ordered 64-bit IDs that cannot collide between processes sharing one database.
//!
//! Layout (63 bits, always positive): 41 bits of milliseconds since 2024-01-01 (≈ 69 years),
//! 10 bits of node number, 12 bits of sequence within the millisecond (4096 IDs/ms/process).
//! The node number is leased from the database at start (`id_nodes` table, see the store), so
//! two processes get different nodes unless more than 1024 processes are started while the
//! first one is still running.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const EPOCH_MS: u64 = 1_704_067_200_000; // 2024-01-01T00:00:00Z
const NODE_BITS: u32 = 10;
const SEQUENCE_BITS: u32 = 12;
const MAX_SEQUENCE: u64 = (1 << SEQUENCE_BITS) - 1;

pub struct IdGenerator {
    node: u64,
    state: Mutex<State>,
}

struct State {
    last_ms: u64,
    sequence: u64,
}

impl IdGenerator {
    /// `lease` is the database-assigned number of this process; only its low 10 bits are used.
    pub fn new(lease: i64) -> IdGenerator {
        IdGenerator {
            node: (lease as u64) & ((1 << NODE_BITS) - 1),
            state: Mutex::new(State { last_ms: 0, sequence: 0 }),
        }
    }

    pub fn next(&self) -> i64 {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut now = millis_since_epoch();
        // A clock that steps backwards must not produce an ID twice: keep counting from the
        // last millisecond used until the clock catches up.
        if now < state.last_ms {
            now = state.last_ms;
        }
        if now == state.last_ms {
            state.sequence += 1;
            if state.sequence > MAX_SEQUENCE {
                // 4096 IDs in one millisecond: borrow the next millisecond.
                now += 1;
                state.sequence = 0;
            }
        } else {
            state.sequence = 0;
        }
        state.last_ms = now;
        ((now << (NODE_BITS + SEQUENCE_BITS)) | (self.node << SEQUENCE_BITS) | state.sequence) as i64
    }
}

fn millis_since_epoch() -> u64 {
    let since_unix = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    (since_unix.as_millis() as u64).saturating_sub(EPOCH_MS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn increasing_and_unique_within_a_process() {
        let ids = IdGenerator::new(7);
        let generated: Vec<i64> = (0..20_000).map(|_| ids.next()).collect();
        assert!(generated.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(generated.iter().all(|id| *id > 0));
    }

    #[test]
    fn different_nodes_never_collide() {
        let a = IdGenerator::new(1);
        let b = IdGenerator::new(2);
        let mut seen = HashSet::new();
        for _ in 0..10_000 {
            assert!(seen.insert(a.next()));
            assert!(seen.insert(b.next()));
        }
    }

    #[test]
    fn node_is_embedded() {
        let id = IdGenerator::new(1024 + 5).next() as u64;
        assert_eq!((id >> SEQUENCE_BITS) & 1023, 5);
    }
}

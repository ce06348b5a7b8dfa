//! Parallel maps that start the longest jobs first.
//!
//! rayon's `par_iter` halves a list in its given order, so a long job near the end of it
//! (the body outline among the ROIs, the dose among the files) can start last and leave
//! the other thread idle while it finishes. [`map_longest_first`] instead hands the jobs
//! out from one queue, longest first by a cost estimate, to whichever thread is free (the
//! longest-processing-time rule). Results come back in the input's order, whatever thread
//! computed which, so output never depends on the thread count.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// `f` over `items` on the rayon pool, the items of highest `cost` started first (ties in
/// input order); the results in input order.
pub fn map_longest_first<T, R, C, F>(items: &[T], cost: C, f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    C: Fn(&T) -> f64,
    F: Fn(&T) -> R + Sync,
{
    map_longest_first_with(items, cost, || (), |_, item| f(item))
}

/// [`map_longest_first`] with a value of each thread's own, made by `init` with the thread's
/// first item and handed to `f` with each item that thread maps (memory one item leaves for
/// the next, say). Results must not depend on it: which thread maps which item varies.
pub fn map_longest_first_with<T, R, S, C, I, F>(items: &[T], cost: C, init: I, f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    C: Fn(&T) -> f64,
    I: Fn() -> S + Sync,
    F: Fn(&mut S, &T) -> R + Sync,
{
    let costs: Vec<f64> = items.iter().map(cost).collect();
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by(|&a, &b| costs[b].total_cmp(&costs[a]).then(a.cmp(&b)));
    let slots: Vec<Mutex<Option<R>>> = items.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let work = || {
        let mut state = None;
        while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
            // Each index is handed out once, so each slot is set once (and its lock is
            // never contended).
            let r = f(state.get_or_insert_with(&init), &items[i]);
            *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
        }
    };
    rayon::scope(|s| {
        for _ in 1..rayon::current_num_threads().min(items.len()) {
            s.spawn(|_| work());
        }
        work();
    });
    slots
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .expect("every item was mapped")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn results_are_in_input_order_and_jobs_start_longest_first() {
        let items: Vec<u32> = vec![3, 9, 1, 9, 5, 0, 7];
        let started = Mutex::new(Vec::new());
        let out = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| {
                map_longest_first(
                    &items,
                    |&x| f64::from(x),
                    |&x| {
                        started.lock().unwrap().push(x);
                        x * 10
                    },
                )
            });
        assert_eq!(out, vec![30, 90, 10, 90, 50, 0, 70]);
        assert_eq!(*started.lock().unwrap(), vec![9, 9, 7, 5, 3, 1, 0]);
        for threads in [2, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let out = pool.install(|| map_longest_first(&items, |_| 1.0, |&x| x + 1));
            assert_eq!(out, vec![4, 10, 2, 10, 6, 1, 8]);
        }
        let none: Vec<u32> = map_longest_first(&[] as &[u32], |_| 0.0, |&x| x);
        assert!(none.is_empty());
    }

    #[test]
    fn each_thread_makes_its_state_with_its_first_item_and_keeps_it() {
        let items: Vec<u32> = (0..40).collect();
        for threads in [1, 2, 3] {
            let made = AtomicUsize::new(0);
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            // The state counts the items its thread has mapped.
            let out = pool.install(|| {
                map_longest_first_with(
                    &items,
                    |&x| f64::from(x),
                    || {
                        made.fetch_add(1, Ordering::Relaxed);
                        0usize
                    },
                    |seen: &mut usize, &x| {
                        *seen += 1;
                        (x * 2, *seen)
                    },
                )
            });
            let doubled: Vec<u32> = out.iter().map(|&(x, _)| x).collect();
            assert_eq!(doubled, items.iter().map(|x| x * 2).collect::<Vec<_>>());
            let made = made.into_inner();
            assert!(
                (1..=threads).contains(&made),
                "{made} states for {threads} threads"
            );
            // Each state's counts run 1, 2, ... up to its thread's number of items.
            let mut counts: Vec<usize> = out.iter().map(|&(_, seen)| seen).collect();
            counts.sort_unstable();
            assert_eq!(counts.iter().filter(|&&c| c == 1).count(), made);
            if threads == 1 {
                assert_eq!(counts, (1..=40).collect::<Vec<_>>());
            }
        }
    }
}

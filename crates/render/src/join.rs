//! `rayon::join` for steps of a fraction of a millisecond.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The longest the caller spins for the other half before waiting the way rayon does.
const SPIN_FOR: Duration = Duration::from_millis(20);

/// Runs `a` and `b`, possibly in parallel, as [`rayon::join`] does; but when another thread took
/// `b` and `a` ends first, the caller keeps taking the pool's work (or spins) until `b` is done,
/// for at most [`SPIN_FOR`], instead of going to sleep in rayon's wait: waking a sleeping thread
/// took 140 us at the median on a 2-core VM, as long as a whole step of a lone tile's render.
/// A `b` not yet taken is left for rayon to run here at once.
pub(crate) fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    let started = AtomicBool::new(false);
    let finished = AtomicBool::new(false);
    rayon::join(
        || {
            let ra = a();
            if started.load(Ordering::Acquire) {
                take_work_until(&finished, Instant::now() + SPIN_FOR);
            }
            ra
        },
        || {
            started.store(true, Ordering::Release);
            let rb = b();
            finished.store(true, Ordering::Release);
            rb
        },
    )
}

/// Runs the rayon pool's pending work, a piece at a time (spinning while there is none), until
/// `done` is set or `until` has passed; returns how many pieces it ran. For a pool thread that
/// must not fall asleep while short steps are offered: waking a sleeping thread took 140 us at
/// the median on a 2-core VM. Outside a pool it only spins.
pub fn take_work_until(done: &AtomicBool, until: Instant) -> usize {
    let mut ran = 0;
    while !done.load(Ordering::Acquire) && Instant::now() < until {
        if rayon::yield_now() == Some(rayon::Yield::Executed) {
            ran += 1;
        } else {
            std::hint::spin_loop();
        }
    }
    ran
}

/// How many CPUs this thread may run on (its affinity mask), found with one system call;
/// `None` where that is not known. Unlike `std::thread::available_parallelism`, it does not
/// read the control group's CPU quota (three files: 0.02 ms of a lone tile's render), so it
/// suits a short job only, such as one tile's two threads.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub fn cpus_allowed() -> Option<usize> {
    // SAFETY: an all-zero cpu_set_t is a valid empty set; sched_getaffinity writes at most
    // the size given into it, and CPU_COUNT only reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return None;
        }
        usize::try_from(libc::CPU_COUNT(&set))
            .ok()
            .filter(|&n| n > 0)
    }
}

/// Elsewhere, not known.
#[cfg(not(target_os = "linux"))]
pub fn cpus_allowed() -> Option<usize> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both halves run and their results come back in order, on one thread or two, with `b`
    /// taken by the other thread or left to the caller, however long each takes.
    #[test]
    fn both_halves_run_and_return_in_order() {
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("a pool");
            pool.install(|| {
                for (wa, wb) in [(0, 0), (0, 3), (3, 0), (1, 1)] {
                    let nap = |ms: u64| std::thread::sleep(Duration::from_millis(ms));
                    let (x, y) = join(
                        || {
                            nap(wa);
                            "a"
                        },
                        || {
                            nap(wb);
                            "b"
                        },
                    );
                    assert_eq!(
                        (x, y),
                        ("a", "b"),
                        "{threads} threads, naps {wa} and {wb} ms"
                    );
                }
            });
        }
    }

    /// The CPUs this thread may run on are at least one and at least what the standard
    /// library counts (the same mask, then lowered to the control group's quota, if any).
    #[test]
    #[cfg(target_os = "linux")]
    fn the_cpus_allowed_are_those_of_the_affinity_mask() {
        let n = cpus_allowed().expect("Linux gives every thread an affinity mask");
        assert!(n >= 1);
        let std_count = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert!(std_count <= n, "std counts {std_count}, the mask {n}");
    }

    /// A panic in either half reaches the caller, as with `rayon::join`.
    #[test]
    fn a_panic_in_either_half_reaches_the_caller() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .expect("a pool");
        pool.install(|| {
            let r = std::panic::catch_unwind(|| join(|| 1, || -> i32 { panic!("b") }));
            assert!(r.is_err(), "b's panic");
            let r = std::panic::catch_unwind(|| join(|| -> i32 { panic!("a") }, || 2));
            assert!(r.is_err(), "a's panic");
        });
    }
}

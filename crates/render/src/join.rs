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

/// The calling thread's affinity mask (the CPUs it may run on), with one system call.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn affinity() -> Option<libc::cpu_set_t> {
    // SAFETY: an all-zero cpu_set_t is a valid empty set, and sched_getaffinity writes at most
    // the size given into it, for the calling thread (pid 0).
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        let size = std::mem::size_of::<libc::cpu_set_t>();
        (libc::sched_getaffinity(0, size, &mut set) == 0).then_some(set)
    }
}

/// Sets the calling thread's affinity mask; whether it was set.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn set_affinity(set: &libc::cpu_set_t) -> bool {
    // SAFETY: sched_setaffinity only reads the set, of the size given, for the calling thread.
    unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), set) == 0 }
}

/// How many CPUs this thread may run on (its affinity mask), found with one system call;
/// `None` where that is not known. Unlike `std::thread::available_parallelism`, it does not
/// read the control group's CPU quota (three files: 0.02 ms of a lone tile's render), so it
/// suits a short job only, such as one tile's two threads.
#[cfg(target_os = "linux")]
pub fn cpus_allowed() -> Option<usize> {
    usize::try_from(cpu_count(&affinity()?))
        .ok()
        .filter(|&n| n > 0)
}

/// How many CPUs `set` holds.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn cpu_count(set: &libc::cpu_set_t) -> i32 {
    // SAFETY: CPU_COUNT only reads the set.
    unsafe { libc::CPU_COUNT(set) }
}

/// Elsewhere, not known.
#[cfg(not(target_os = "linux"))]
pub fn cpus_allowed() -> Option<usize> {
    None
}

/// The CPU the calling thread runs on now; `None` where that is not known.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub fn current_cpu() -> Option<usize> {
    // SAFETY: sched_getcpu takes nothing and only returns a number (the vDSO's, no system call).
    usize::try_from(unsafe { libc::sched_getcpu() }).ok()
}

/// Elsewhere, not known.
#[cfg(not(target_os = "linux"))]
pub fn current_cpu() -> Option<usize> {
    None
}

/// Moves the calling thread off `busy` when it runs there and may run elsewhere, and returns
/// the CPU it was moved to: its affinity mask is narrowed to the other CPUs (the kernel moves a
/// thread at once when its CPU leaves its mask), then set back as it was (the thread stays
/// where it now is). For a pool's second thread started on its first thread's CPU: the
/// kernel places a new thread on a CPU that is idle at that moment, and when the other CPU is
/// briefly busy (the parent process between `fork` and `wait`), the two threads of a render
/// shared one CPU in 4 ms turns while the other CPU sat idle (the load balancer leaves tasks
/// that ran within the last 0.5 ms where they are): a render of 7 ms instead of 2.5, about one
/// run in seven right after a GDAL run in `benches/render_vs_gdal.py`.
#[cfg(target_os = "linux")]
pub fn leave_cpu(busy: usize) -> Option<usize> {
    if current_cpu()? != busy || busy >= 8 * std::mem::size_of::<libc::cpu_set_t>() {
        return None;
    }
    let allowed = affinity()?;
    let mut others = allowed;
    #[allow(unsafe_code)]
    // SAFETY: CPU_CLR writes the one bit of `busy`, inside the set (checked above).
    unsafe {
        libc::CPU_CLR(busy, &mut others)
    };
    if cpu_count(&others) == 0 || !set_affinity(&others) {
        return None;
    }
    let moved_to = current_cpu();
    // Set back; should that fail, the thread keeps to the other CPUs, which is all it needs.
    set_affinity(&allowed);
    moved_to
}

/// Elsewhere, nothing to do.
#[cfg(not(target_os = "linux"))]
pub fn leave_cpu(_busy: usize) -> Option<usize> {
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

    /// A thread on the CPU it is asked to leave is moved off it whenever another CPU is
    /// allowed, and keeps its affinity mask; a thread elsewhere is left alone.
    #[test]
    #[cfg(target_os = "linux")]
    #[allow(unsafe_code)]
    fn a_thread_leaves_a_busy_cpu_and_keeps_its_mask() {
        std::thread::spawn(|| {
            let mask = || {
                let set = affinity().expect("the thread's mask");
                (0..8 * std::mem::size_of::<libc::cpu_set_t>())
                    // SAFETY: CPU_ISSET reads one bit of the set, below its bit count.
                    .filter(|&c| unsafe { libc::CPU_ISSET(c, &set) })
                    .collect::<Vec<_>>()
            };
            let before = mask();
            let here = current_cpu().expect("Linux tells a thread its CPU");
            assert!(before.contains(&here));
            // Not on that CPU: nothing happens (unless the thread was moved there meanwhile,
            // which the mask check below still covers).
            let elsewhere = before.iter().copied().find(|&c| c != here);
            if let Some(other) = elsewhere
                && current_cpu() != Some(other)
            {
                assert_eq!(leave_cpu(other), None);
            }
            // The CPU to leave is the one the thread is on just before; if the kernel moved
            // the thread in between (leave_cpu then finds it elsewhere), try again.
            let (busy, moved) = (0..1000)
                .map(|_| {
                    let busy = current_cpu().unwrap();
                    (busy, leave_cpu(busy))
                })
                .find(|&(busy, moved)| moved.is_some() || current_cpu() == Some(busy))
                .expect("the thread held still once in 1000 tries");
            match (moved, elsewhere) {
                (Some(to), Some(_)) => {
                    assert!(to != busy && before.contains(&to), "left {busy} for {to}");
                }
                (None, Some(_)) => {
                    panic!("another CPU is allowed ({before:?}), it stayed on {busy}")
                }
                (Some(to), None) => panic!("moved to {to} with one CPU allowed"),
                (None, None) => {}
            }
            assert_eq!(mask(), before, "the affinity mask was not set back");
        })
        .join()
        .unwrap();
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

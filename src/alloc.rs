//! A global allocator that puts large allocations on transparent huge pages (Linux) and
//! hands memory freed by one step of a run to the next instead of back to the kernel.
//!
//! A DVH run touches tens of megabytes of memory (the dose grid, the samples, the
//! curves). Memory fresh from the kernel costs a page fault and the kernel's
//! zeroing of each page on first touch; on the project's machine (a virtual machine with
//! container memory accounting) that first touch runs at 0.3 to 1.9 GB/s, against about
//! 7 GB/s for memory the process already holds. So:
//!
//! - Allocations of 2 MiB or more are mapped on their own, aligned to 2 MiB and marked
//!   `MADV_HUGEPAGE`, so the kernel can back them with 2 MiB pages (one fault each).
//! - When such a mapping is freed it is kept, up to [`CACHE_SLOTS`] mappings and
//!   [`CACHE_BYTES`] in all, and the next large allocation that fits in one takes it (its
//!   pages already present) and gives back the part it does not need: what one ROI's
//!   DVH frees, the next one uses.
//! - A large allocation shrunk by `realloc` gives back its tail in place (no copy).
//! - [`tune_system_allocator`] keeps glibc's heap from returning freed memory to the kernel
//!   during the run, for the allocations below 2 MiB (per-plane samples, the sort buffers
//!   of most ROIs), and grows it in larger steps (fewer `mprotect` calls, each of which
//!   stalls the page faults of the other thread).
//!
//! Everything smaller than 2 MiB, and everything on a kernel without transparent huge
//! pages (where the advice is ignored), otherwise behaves as with the system allocator.
//!
//! The binary installs it (`#[global_allocator]` in `main.rs`); the library does not.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, Ordering};

/// Allocations from this size on (and with at most this alignment) get their own mapping.
pub const HUGE_PAGE: usize = 2 << 20;

/// The allocator: [`System`] for small allocations, huge-page mappings for large ones.
pub struct HugePageAlloc;

fn is_large(layout: Layout) -> bool {
    layout.size() >= HUGE_PAGE && layout.align() <= HUGE_PAGE
}

/// The system's page size (4 KiB on x86-64): a tail shorter than a huge page is mapped
/// with these.
fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        n if n > 0 => n as usize,
        _ => HUGE_PAGE,
    }
}

/// The mapped length of a large allocation: its size rounded up to whole small pages. The
/// huge-page-aligned start lets the kernel back every whole 2 MiB of it with a huge page;
/// the tail gets small pages (rounding it up to a huge page cost up to 2 MiB of resident
/// memory per allocation: 6 MB on the breast plan).
fn mapped_len(size: usize) -> Option<usize> {
    size.checked_next_multiple_of(page_size())
}

/// Maps `len` bytes (a multiple of the page size) at a [`HUGE_PAGE`]-aligned address and
/// advises huge pages for them. Null when the system refuses.
///
/// # Safety
/// Plain FFI to mmap/munmap/madvise on memory this function maps itself.
unsafe fn map_aligned(len: usize) -> *mut u8 {
    let Some(reserve) = len.checked_add(HUGE_PAGE) else {
        return std::ptr::null_mut();
    };
    // Map one huge page more than needed, then give back the unaligned head and the tail.
    let p = libc::mmap(
        std::ptr::null_mut(),
        reserve,
        libc::PROT_READ | libc::PROT_WRITE,
        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
        -1,
        0,
    );
    if p == libc::MAP_FAILED {
        return std::ptr::null_mut();
    }
    let start = p as usize;
    let aligned = start.next_multiple_of(HUGE_PAGE);
    if aligned > start {
        libc::munmap(p, aligned - start);
    }
    let end = start + reserve;
    if end > aligned + len {
        libc::munmap((aligned + len) as *mut libc::c_void, end - (aligned + len));
    }
    // Advice only: without transparent huge pages the mapping works with small pages.
    libc::madvise(aligned as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
    aligned as *mut u8
}

/// Freed large mappings kept for reuse: at most this many...
pub const CACHE_SLOTS: usize = 4;
/// ...and at most this many bytes in all (a freed mapping that would exceed it is unmapped).
pub const CACHE_BYTES: usize = 64 << 20;

/// The freed mappings (start, mapped length; length 0: an empty slot), behind a spin lock:
/// an allocator cannot allocate, and the lock is held for a few loads and stores only.
struct Cache {
    locked: AtomicBool,
    slots: std::cell::UnsafeCell<[(usize, usize); CACHE_SLOTS]>,
}

// SAFETY: `slots` is only touched between `lock` and `unlock`.
unsafe impl Sync for Cache {}

static CACHE: Cache = Cache::new();

impl Cache {
    const fn new() -> Self {
        Cache {
            locked: AtomicBool::new(false),
            slots: std::cell::UnsafeCell::new([(0, 0); CACHE_SLOTS]),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut [(usize, usize); CACHE_SLOTS]) -> R) -> R {
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            std::hint::spin_loop();
        }
        // SAFETY: the lock is held.
        let r = f(unsafe { &mut *self.slots.get() });
        self.locked.store(false, Ordering::Release);
        r
    }

    /// Takes the smallest kept mapping of at least `len` bytes: (start, its length).
    fn take(&self, len: usize) -> Option<(usize, usize)> {
        self.with(|slots| {
            let best = (0..CACHE_SLOTS)
                .filter(|&i| slots[i].1 >= len)
                .min_by_key(|&i| slots[i].1)?;
            Some(std::mem::take(&mut slots[best]))
        })
    }

    /// Keeps a freed mapping when there is room; false when the caller must unmap it.
    fn put(&self, start: usize, len: usize) -> bool {
        self.with(|slots| {
            let held: usize = slots.iter().map(|s| s.1).sum();
            if held + len > CACHE_BYTES {
                return false;
            }
            match slots.iter_mut().find(|s| s.1 == 0) {
                Some(slot) => {
                    *slot = (start, len);
                    true
                }
                None => false,
            }
        })
    }
}

/// Gives back the pages of `[start + keep, start + len)`.
///
/// # Safety
/// The range must be part of a mapping of this allocator that nothing uses any more.
unsafe fn unmap_tail(start: usize, len: usize, keep: usize) {
    if len > keep {
        libc::munmap((start + keep) as *mut libc::c_void, len - keep);
    }
}

/// A large allocation of `len` mapped bytes: a kept mapping cut to `len` when one is big
/// enough (its pages already touched: `fresh` is false), else a new mapping.
///
/// # Safety
/// As [`map_aligned`].
unsafe fn large(len: usize) -> (*mut u8, bool) {
    match CACHE.take(len) {
        Some((start, held)) => {
            unmap_tail(start, held, len);
            (start as *mut u8, false)
        }
        None => (map_aligned(len), true),
    }
}

unsafe impl GlobalAlloc for HugePageAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !is_large(layout) {
            return System.alloc(layout);
        }
        match mapped_len(layout.size()) {
            Some(len) => large(len).0,
            None => std::ptr::null_mut(),
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !is_large(layout) {
            return System.alloc_zeroed(layout);
        }
        let Some(len) = mapped_len(layout.size()) else {
            return std::ptr::null_mut();
        };
        let (p, fresh) = large(len);
        // A fresh anonymous mapping is zeroed by the kernel; a kept one is not.
        if !fresh && !p.is_null() {
            std::ptr::write_bytes(p, 0, layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if !is_large(layout) {
            return System.dealloc(ptr, layout);
        }
        if let Some(len) = mapped_len(layout.size()) {
            if !CACHE.put(ptr as usize, len) {
                libc::munmap(ptr as *mut libc::c_void, len);
            }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY (caller's contract): `new_size` is non-zero and does not overflow with the
        // alignment, so this layout is valid.
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        if is_large(layout) && is_large(new_layout) && new_size <= layout.size() {
            // Shrinking a large allocation: its tail goes back to the kernel, in place.
            if let (Some(old), Some(new)) = (mapped_len(layout.size()), mapped_len(new_size)) {
                unmap_tail(ptr as usize, old, new);
                return ptr;
            }
        }
        if !is_large(layout) && !is_large(new_layout) {
            return System.realloc(ptr, layout, new_size);
        }
        let q = self.alloc(new_layout);
        if !q.is_null() {
            std::ptr::copy_nonoverlapping(ptr, q, layout.size().min(new_size));
            self.dealloc(ptr, layout);
        }
        q
    }
}

/// Tunes glibc's allocator for a run of sbrt-verify (the binary calls it first thing):
/// memory freed by one ROI is kept in the heap for the next instead of being returned to
/// the kernel (trim threshold), allocations below 2 MiB come from the heap instead of
/// mappings of their own (mmap threshold: those from 2 MiB on are this allocator's), and
/// the heap grows 8 MiB at a time (top pad: address space only, touched when used).
/// Resident memory then stays at the run's high-water mark until the process exits.
pub fn tune_system_allocator() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only sets glibc's parameters; it is called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, HUGE_PAGE as libc::c_int);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TOP_PAD, 8 << 20);
    }
}

/// The glibc tunable that puts glibc's own heaps on transparent huge pages: glibc then
/// advises huge pages for the memory its arenas get from the kernel (the main heap's and
/// each worker thread's arena).
pub const GLIBC_HUGETLB_TUNABLE: &str = "glibc.malloc.hugetlb";

/// Runs the program again with [`GLIBC_HUGETLB_TUNABLE`]`=1` added to `GLIBC_TUNABLES`,
/// unless the environment already sets it (so at most once, and never against the
/// user's choice, e.g. `GLIBC_TUNABLES=glibc.malloc.hugetlb=0`). Glibc reads tunables only
/// when a process starts, and this one is worth it: the DVH samples are gathered in
/// per-plane vectors below 2 MiB, in glibc's heaps, and on 4 KiB pages their first touch
/// is most of a run's page faults (on the breast plan with 2 threads 5,600 faults, 2,100
/// with the tunable, for 0.3 MB more resident memory; 2-thread median 58 -> 52 ms in 40
/// alternating runs). Returns (and the run goes on without it) when the program cannot be
/// run again (its path unknown or gone, an exec failure).
///
/// The binary calls it first thing, before any thread or handler exists.
pub fn run_with_glibc_huge_pages() {
    #[cfg(target_env = "gnu")]
    {
        use std::os::unix::process::CommandExt;
        let Some(tunables) = with_glibc_huge_pages(std::env::var_os("GLIBC_TUNABLES")) else {
            return;
        };
        let mut args = std::env::args_os();
        let Some(arg0) = args.next() else {
            return;
        };
        // The program's own path (not /proc/self/exe, which would rename the process
        // "exe" in ps and top).
        let Ok(program) = std::env::current_exe() else {
            return;
        };
        // exec only returns on failure.
        let _ = std::process::Command::new(program)
            .arg0(arg0)
            .args(args)
            .env("GLIBC_TUNABLES", tunables)
            .exec();
    }
}

/// `GLIBC_TUNABLES` with [`GLIBC_HUGETLB_TUNABLE`]`=1` added to what it holds; `None` when
/// it sets that tunable already (to any value).
pub fn with_glibc_huge_pages(current: Option<std::ffi::OsString>) -> Option<std::ffi::OsString> {
    let mut tunables = current.unwrap_or_default();
    if tunables
        .to_string_lossy()
        .split(':')
        .any(|t| t.split('=').next() == Some(GLIBC_HUGETLB_TUNABLE))
    {
        return None;
    }
    if !tunables.is_empty() {
        tunables.push(":");
    }
    tunables.push(format!("{GLIBC_HUGETLB_TUNABLE}=1"));
    Some(tunables)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_huge_page_tunable_is_added_once_and_never_overrides_a_choice() {
        let t = |s: Option<&str>| with_glibc_huge_pages(s.map(Into::into));
        assert_eq!(t(None), Some("glibc.malloc.hugetlb=1".into()));
        assert_eq!(t(Some("")), Some("glibc.malloc.hugetlb=1".into()));
        assert_eq!(
            t(Some("glibc.malloc.tcache_count=0")),
            Some("glibc.malloc.tcache_count=0:glibc.malloc.hugetlb=1".into())
        );
        for set in [
            "glibc.malloc.hugetlb=1",
            "glibc.malloc.hugetlb=0",
            "glibc.malloc.arena_max=1:glibc.malloc.hugetlb=2",
        ] {
            assert_eq!(t(Some(set)), None, "{set}");
        }
        // Another tunable whose name starts the same is not this one.
        assert_eq!(
            t(Some("glibc.malloc.hugetlbx=0")),
            Some("glibc.malloc.hugetlbx=0:glibc.malloc.hugetlb=1".into())
        );
    }

    #[test]
    fn large_and_small_allocations_are_aligned_zeroed_writable_and_freed() {
        let a = HugePageAlloc;
        for (size, align) in [
            (8, 8),
            (HUGE_PAGE - 1, 16),
            (HUGE_PAGE, 8),
            (HUGE_PAGE + 1, 64),
            (5 * HUGE_PAGE + 12_345, 4096),
        ] {
            let layout = Layout::from_size_align(size, align).unwrap();
            unsafe {
                let p = a.alloc_zeroed(layout);
                assert!(!p.is_null());
                assert_eq!(p as usize % align, 0);
                if is_large(layout) {
                    assert_eq!(p as usize % HUGE_PAGE, 0);
                }
                let s = std::slice::from_raw_parts_mut(p, size);
                assert!(s.iter().all(|&b| b == 0));
                s.fill(0xA5);
                assert_eq!(s[size - 1], 0xA5);
                // Growing across the threshold keeps the contents.
                let bigger = size + HUGE_PAGE;
                let q = a.realloc(p, layout, bigger);
                assert!(!q.is_null());
                let t = std::slice::from_raw_parts(q, size);
                assert!(t.iter().all(|&b| b == 0xA5));
                a.dealloc(q, Layout::from_size_align(bigger, align).unwrap());
            }
        }
    }

    #[test]
    fn the_cache_gives_the_smallest_kept_mapping_that_fits_and_stays_within_its_bounds() {
        let c = Cache::new();
        assert_eq!(c.take(1), None);
        assert!(c.put(0x1000_0000, 8 << 20));
        assert!(c.put(0x2000_0000, 3 << 20));
        assert!(c.put(0x3000_0000, 5 << 20));
        assert_eq!(c.take(9 << 20), None);
        assert_eq!(c.take(4 << 20), Some((0x3000_0000, 5 << 20)));
        assert_eq!(c.take(4 << 20), Some((0x1000_0000, 8 << 20)));
        assert_eq!(c.take(3 << 20), Some((0x2000_0000, 3 << 20)));
        assert_eq!(c.take(1), None);
        // At most CACHE_SLOTS mappings and CACHE_BYTES in all.
        for i in 0..CACHE_SLOTS {
            assert!(c.put(0x1000_0000 * (i + 1), 1 << 20));
        }
        assert!(!c.put(0x9000_0000, 1 << 20));
        assert_eq!(c.take(1 << 20).map(|t| t.1), Some(1 << 20));
        assert!(!c.put(0x9000_0000, CACHE_BYTES));
    }

    #[test]
    fn a_reused_mapping_is_zeroed_when_asked_and_a_shrink_stays_in_place() {
        let a = HugePageAlloc;
        let size = 3 * HUGE_PAGE + 100;
        let layout = Layout::from_size_align(size, 8).unwrap();
        unsafe {
            // Freed dirty: kept, and handed to the next allocation that fits (this one, or
            // another test's: either way the memory given out must be zero).
            let p = a.alloc(layout);
            std::slice::from_raw_parts_mut(p, size).fill(0xFF);
            a.dealloc(p, layout);
            let small = Layout::from_size_align(HUGE_PAGE + 7, 8).unwrap();
            let q = a.alloc_zeroed(small);
            assert!(std::slice::from_raw_parts(q, small.size())
                .iter()
                .all(|&b| b == 0));
            a.dealloc(q, small);
            // Shrinking keeps the address and the contents.
            let r = a.alloc(layout);
            std::slice::from_raw_parts_mut(r, size).fill(0x5A);
            let s = a.realloc(r, layout, 2 * HUGE_PAGE + 1);
            assert_eq!(s, r);
            assert!(std::slice::from_raw_parts(s, 2 * HUGE_PAGE + 1)
                .iter()
                .all(|&b| b == 0x5A));
            a.dealloc(s, Layout::from_size_align(2 * HUGE_PAGE + 1, 8).unwrap());
        }
    }

    #[test]
    fn an_impossible_size_is_refused_not_wrapped() {
        let layout = Layout::from_size_align(isize::MAX as usize - HUGE_PAGE / 2, 8).unwrap();
        assert!(mapped_len(layout.size()).is_some());
        unsafe {
            assert!(HugePageAlloc.alloc(layout).is_null());
        }
        assert_eq!(mapped_len(usize::MAX - 10), None);
        // A tail is rounded to a small page, not to a huge one.
        assert_eq!(mapped_len(HUGE_PAGE + 1), Some(HUGE_PAGE + page_size()));
        assert_eq!(mapped_len(3 * HUGE_PAGE), Some(3 * HUGE_PAGE));
    }
}

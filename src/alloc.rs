//! A global allocator that puts large allocations on transparent huge pages (Linux).
//!
//! A DVH run touches tens of megabytes of fresh memory (the dose file, the dose grid,
//! the sorted samples, the curves). With 4 KiB pages each first touch is a page fault,
//! about 3 us on the project's machine (container memory accounting): 22,000 faults were a
//! third of the CPU time of the breast plan. Allocations of 2 MiB or more are therefore
//! mapped on their own, aligned to 2 MiB and marked `MADV_HUGEPAGE`, so the kernel can back
//! them with 2 MiB pages (one fault each). Everything smaller, and everything on a kernel
//! without transparent huge pages (where the advice is ignored), behaves as with the
//! system allocator.
//!
//! The binary installs it (`#[global_allocator]` in `main.rs`); the library does not.

use std::alloc::{GlobalAlloc, Layout, System};

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

unsafe impl GlobalAlloc for HugePageAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !is_large(layout) {
            return System.alloc(layout);
        }
        match mapped_len(layout.size()) {
            Some(len) => map_aligned(len),
            None => std::ptr::null_mut(),
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !is_large(layout) {
            return System.alloc_zeroed(layout);
        }
        // A fresh anonymous mapping is zeroed by the kernel.
        self.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if !is_large(layout) {
            return System.dealloc(ptr, layout);
        }
        if let Some(len) = mapped_len(layout.size()) {
            libc::munmap(ptr as *mut libc::c_void, len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

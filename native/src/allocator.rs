//! The global allocator: mimalloc, told to keep the memory it frees.
//!
//! The CPU backend allocates a fresh buffer for nearly every tensor operation, many of them
//! megabytes large. The system allocator maps and unmaps such blocks each time, and mimalloc by
//! default returns freed pages to the system after a delay; either way the next operation pays
//! a page fault and the kernel's zeroing for every page it touches, which was more than a third
//! of a fine-tuning step's profile (docs/performance.md). Kept pages are reused instead.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay`, in mimalloc 3's `mi_option_e` (mimalloc.h): milliseconds before
/// freed memory is returned to the system, or −1 for never.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Freed memory stays with the process for reuse. Call before the work starts.
pub fn keep_freed_memory() {
    // SAFETY: setting a mimalloc option takes no pointer and may happen at any time.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, -1) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The option index is mimalloc's purge delay: its documented default, 1000 ms, until set.
    #[test]
    fn the_purge_delay_is_mimallocs_option() {
        // SAFETY: reading and setting options takes no pointer.
        unsafe {
            assert_eq!(libmimalloc_sys::mi_option_get(PURGE_DELAY), 1000);
            keep_freed_memory();
            assert_eq!(libmimalloc_sys::mi_option_get(PURGE_DELAY), -1);
        }
    }
}

//! The daemon's allocator settings: the workspace's one use of `unsafe` (two glibc calls).
//!
//! glibc's malloc gives threads up to 8 arenas per core, raises its mmap threshold after each
//! large free, and returns freed memory only from the top of each heap. A long-running process
//! therefore keeps every arena's high-water mark resident: at 1,000 promoted versions `watch`
//! held 56 MiB for about 6 MiB of live heap. Two arenas, a fixed mmap threshold and a trim after
//! each pass that did work keep it near 31 MiB at the same speed (BENCHMARKS.md, daemon memory).
//!
//! An operator who sets `GLIBC_TUNABLES` (even to nothing) keeps glibc's settings as given; the
//! trim after a pass still runs.

/// Configures the allocator for a long-running process. Call before any thread starts.
pub fn tune_for_daemon() {
    if std::env::var_os("GLIBC_TUNABLES").is_none() {
        glibc::configure();
    }
}

/// Gives the pages the allocator holds free back to the system; true when some were.
pub fn release_free_memory() -> bool {
    glibc::release()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
mod glibc {
    use std::ffi::c_int;

    // From glibc's <malloc.h>.
    const M_MMAP_THRESHOLD: c_int = -3;
    const M_ARENA_MAX: c_int = -8;

    unsafe extern "C" {
        fn mallopt(param: c_int, value: c_int) -> c_int;
        fn malloc_trim(pad: usize) -> c_int;
    }

    pub fn configure() {
        // SAFETY: mallopt takes no pointers and only changes the allocator's policy; glibc
        // serializes it with every other allocator call (MT-Safe). Called before other threads
        // exist, so every later arena follows it.
        unsafe {
            mallopt(M_ARENA_MAX, 2);
            mallopt(M_MMAP_THRESHOLD, 128 * 1024);
        }
    }

    pub fn release() -> bool {
        // SAFETY: malloc_trim takes no pointers and only returns free pages (MT-Safe).
        unsafe { malloc_trim(0) == 1 }
    }
}

/// Other allocators have no such settings and return memory on their own.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod glibc {
    pub fn configure() {}

    pub fn release() -> bool {
        false
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    /// Resident anonymous memory of this process, in KiB.
    fn anonymous_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("RssAnon:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    #[test]
    fn freed_pages_below_live_memory_go_back_to_the_system() {
        // 64 MiB of small blocks with every 64th kept: glibc alone keeps nearly all of it.
        let blocks: Vec<Box<[u8; 1024]>> = (0..65_536).map(|_| Box::new([1u8; 1024])).collect();
        let kept: Vec<_> = blocks.into_iter().step_by(64).collect();
        let before = anonymous_kib();
        assert!(super::release_free_memory(), "nothing was released");
        let after = anonymous_kib();
        assert!(
            after + 16 * 1024 < before,
            "only {before} → {after} KiB after the trim"
        );
        assert_eq!(kept.len(), 1024);
    }
}

//! The open-files limit (RLIMIT_NOFILE), which bounds how many ehyphae fit.

/// (soft, hard) RLIMIT_NOFILE; (1024, 1024) when it cannot be read.
pub fn fd_limit() -> (u64, u64) {
    let mut r = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `r` is a valid rlimit that getrlimit fills in; it lives across the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } < 0 {
        return (1024, 1024);
    }
    (r.rlim_cur, r.rlim_max)
}

/// Sets RLIMIT_NOFILE; `false` when the system refuses (e.g. above the hard limit
/// without privilege).
pub fn set_fd_limit(soft: u64, hard: u64) -> bool {
    let r = libc::rlimit { rlim_cur: soft as libc::rlim_t, rlim_max: hard as libc::rlim_t };
    // SAFETY: `r` is a valid rlimit that setrlimit only reads; it lives across the call.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &r) == 0 }
}

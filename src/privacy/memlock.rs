//! Keeping Hearth's memory out of swap: `mlockall` where the memory-lock limit allows it.
//!
//! **Choice:** memory is locked only when the limit is unlimited (`RLIMIT_MEMLOCK` =
//! infinity, as the shipped unit's `LimitMEMLOCK=infinity` sets it) or the process holds
//! `CAP_IPC_LOCK` (which ignores the limit). With any finite limit nothing is locked:
//! `MCL_FUTURE` under a finite limit makes every allocation that would push locked memory past
//! it fail, and Rust aborts on a failed allocation, so a limit that fits today's model would
//! crash the assistant on a bigger model or a long utterance. A soft limit below an unlimited
//! hard limit is raised first (no privilege needed).
//!
//! Locking uses `MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT` (Linux ≥ 4.4; without `MCL_ONFAULT`
//! on older kernels): pages are locked as they are first touched, so reserved but unused
//! address space (thread stacks, malloc arenas) does not become resident. Every page that ever
//! holds audio has been touched, so it is locked.

use std::fmt;

/// The soft `RLIMIT_MEMLOCK` of this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemlockLimit {
    /// No limit (`infinity`).
    Unlimited,
    /// At most this many bytes may be locked.
    Bytes(u64),
    /// `getrlimit` failed.
    Unknown,
}

impl fmt::Display for MemlockLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemlockLimit::Unlimited => f.write_str("unlimited"),
            MemlockLimit::Bytes(b) if *b >= 1 << 20 => write!(f, "{} MiB", b >> 20),
            MemlockLimit::Bytes(b) => write!(f, "{} KiB", b >> 10),
            MemlockLimit::Unknown => f.write_str("unknown"),
        }
    }
}

/// The soft and hard `RLIMIT_MEMLOCK` of this process.
pub fn memlock_limits() -> (MemlockLimit, MemlockLimit) {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `limit` is a valid, writable `rlimit` for the duration of the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut limit) } != 0 {
        return (MemlockLimit::Unknown, MemlockLimit::Unknown);
    }
    // rlim_t is 32 bits wide on some 32-bit targets.
    #[allow(clippy::unnecessary_cast)]
    let convert = |v: libc::rlim_t| {
        if v == libc::RLIM_INFINITY { MemlockLimit::Unlimited } else { MemlockLimit::Bytes(v as u64) }
    };
    (convert(limit.rlim_cur), convert(limit.rlim_max))
}

/// What the service must change so that memory can be locked.
pub const MEMLOCK_FIX: &str = "allow memory locking: in the systemd unit set `LimitMEMLOCK=infinity` (the shipped \
     systemd/hearth.service does) or `AmbientCapabilities=CAP_IPC_LOCK`; from a shell run `ulimit -l unlimited` \
     (as root) before `hearth run`";

/// Why memory is not locked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotLocked {
    /// The limit is finite and there is no `CAP_IPC_LOCK`: locking was not attempted.
    LimitTooLow(MemlockLimit),
    /// `mlockall` itself failed (the error text, e.g. "Operation not permitted").
    Refused(String),
}

impl fmt::Display for NotLocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotLocked::LimitTooLow(limit) => write!(
                f,
                "the memory-lock limit (RLIMIT_MEMLOCK) is {limit}; locking is only done with an unlimited limit, \
                 because a finite one would make allocations past it fail"
            ),
            NotLocked::Refused(error) => write!(f, "mlockall failed: {error}"),
        }
    }
}

/// The outcome of [`lock_memory`]: whether Hearth's memory is kept out of swap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemoryLock {
    /// Current and future pages are locked in RAM (as they are first touched, when `on_fault`).
    Locked {
        /// `MCL_ONFAULT` was used (pages lock on first touch rather than all at once).
        on_fault: bool,
    },
    /// Not locked: audio could be swapped out unless swap is off for the service
    /// (`MemorySwapMax=0`) or the system.
    NotLocked(NotLocked),
}

impl MemoryLock {
    /// True when memory is locked.
    pub fn is_locked(&self) -> bool {
        matches!(self, MemoryLock::Locked { .. })
    }

    /// One line for reports: "locked (…)" or "not locked: " and the reason.
    pub fn describe(&self) -> String {
        match self {
            MemoryLock::Locked { .. } => "locked (mlockall: current and future memory stays in RAM)".to_owned(),
            MemoryLock::NotLocked(why) => format!("not locked: {why}"),
        }
    }
}

/// What [`lock_memory`] will do for a given limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockPlan {
    /// Call `mlockall`.
    Lock,
    /// Raise the soft limit to the (unlimited) hard limit, then call `mlockall`.
    RaiseThenLock,
    /// Do not lock: the limit is finite.
    Skip,
}

/// The decision of [`lock_memory`] (pure): lock with an unlimited soft limit or `CAP_IPC_LOCK`,
/// raise the soft limit first when only the hard one is unlimited, otherwise skip.
pub fn plan(soft: MemlockLimit, hard: MemlockLimit, cap_ipc_lock: bool) -> LockPlan {
    match (soft, hard) {
        _ if cap_ipc_lock => LockPlan::Lock,
        (MemlockLimit::Unlimited, _) => LockPlan::Lock,
        (_, MemlockLimit::Unlimited) => LockPlan::RaiseThenLock,
        _ => LockPlan::Skip,
    }
}

/// Locks the process's memory (current and future) into RAM so captured audio can never be
/// written to swap, when the memory-lock limit permits it (see the module documentation for
/// why only an unlimited limit or `CAP_IPC_LOCK` counts). Call once, early in `hearth run`,
/// before the model is loaded and capture starts.
///
/// Logs one line: `info` when locked, otherwise one `warn` naming the reason and the fix
/// (`LimitMEMLOCK=infinity`, `AmbientCapabilities=CAP_IPC_LOCK` or `ulimit -l`). Never fails:
/// the returned [`MemoryLock`] is the status for the privacy report and
/// [`diagnostic_summary`](super::diagnostic_summary).
pub fn lock_memory() -> MemoryLock {
    let (soft, hard) = memlock_limits();
    let cap = super::system::own_status().is_some_and(|s| s.cap_ipc_lock());
    let outcome = match plan(soft, hard, cap) {
        LockPlan::Skip => MemoryLock::NotLocked(NotLocked::LimitTooLow(soft)),
        LockPlan::RaiseThenLock => match raise_soft_limit() {
            Ok(()) => mlockall(),
            Err(e) => MemoryLock::NotLocked(NotLocked::Refused(format!("raising RLIMIT_MEMLOCK failed: {e}"))),
        },
        LockPlan::Lock => mlockall(),
    };
    match &outcome {
        MemoryLock::Locked { on_fault } => {
            tracing::info!(on_fault, "memory locked: audio cannot be swapped to disk");
        }
        MemoryLock::NotLocked(why) => {
            tracing::warn!("memory not locked, audio could reach swap: {why}; fix: {MEMLOCK_FIX}");
        }
    }
    outcome
}

/// Sets the soft `RLIMIT_MEMLOCK` to the hard limit.
fn raise_soft_limit() -> std::io::Result<()> {
    let limit = libc::rlimit { rlim_cur: libc::RLIM_INFINITY, rlim_max: libc::RLIM_INFINITY };
    // SAFETY: `limit` is a valid `rlimit`; setrlimit only reads it.
    if unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &limit) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// `mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)`, without `MCL_ONFAULT` where the kernel
/// does not know it. On failure nothing stays locked (`munlockall`), so no `MCL_FUTURE` state
/// is left behind.
fn mlockall() -> MemoryLock {
    let base = libc::MCL_CURRENT | libc::MCL_FUTURE;
    // SAFETY: mlockall takes only flags and touches no Rust-visible memory.
    if unsafe { libc::mlockall(base | libc::MCL_ONFAULT) } == 0 {
        return MemoryLock::Locked { on_fault: true };
    }
    let mut error = std::io::Error::last_os_error();
    if error.raw_os_error() == Some(libc::EINVAL) {
        // SAFETY: as above.
        if unsafe { libc::mlockall(base) } == 0 {
            return MemoryLock::Locked { on_fault: false };
        }
        error = std::io::Error::last_os_error();
    }
    // SAFETY: munlockall takes no arguments.
    unsafe { libc::munlockall() };
    MemoryLock::NotLocked(NotLocked::Refused(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_only_with_an_unlimited_limit_or_the_capability() {
        let small = MemlockLimit::Bytes(8 << 20);
        let huge = MemlockLimit::Bytes(64 << 30);
        assert_eq!(plan(MemlockLimit::Unlimited, MemlockLimit::Unlimited, false), LockPlan::Lock);
        assert_eq!(plan(small, small, true), LockPlan::Lock);
        assert_eq!(plan(small, MemlockLimit::Unlimited, false), LockPlan::RaiseThenLock);
        assert_eq!(plan(small, small, false), LockPlan::Skip);
        assert_eq!(plan(huge, huge, false), LockPlan::Skip, "finite limits are never used with MCL_FUTURE");
        assert_eq!(plan(MemlockLimit::Unknown, MemlockLimit::Unknown, false), LockPlan::Skip);
    }

    #[test]
    fn the_reason_names_the_limit_and_the_fix_names_the_settings() {
        let why = NotLocked::LimitTooLow(MemlockLimit::Bytes(8 << 20));
        let line = MemoryLock::NotLocked(why).describe();
        assert!(
            line.starts_with("not locked: ") && line.contains("8 MiB") && line.contains("RLIMIT_MEMLOCK"),
            "{line}"
        );
        for needle in ["LimitMEMLOCK=infinity", "CAP_IPC_LOCK", "ulimit -l"] {
            assert!(MEMLOCK_FIX.contains(needle), "{needle}");
        }
        assert_eq!(MemlockLimit::Bytes(64 << 10).to_string(), "64 KiB");
    }
}

//! What the system says about the process and the service: `/proc/<pid>/status` (seccomp,
//! no-new-privileges, locked memory, capabilities), the cgroup's swap limit, active swap, and
//! the installed unit's effective settings from `systemctl show`. Parsers are pure functions
//! over the text; [`SystemView::current`] does the reading.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::memlock::{MemlockLimit, memlock_limits};

/// Where systemd's `StateDirectory=` is when `$STATE_DIRECTORY` is not set (running from a
/// shell): the shipped unit's `StateDirectory=hearth`.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/hearth";

/// The unit `hearth privacy` asks `systemctl` about.
pub const UNIT_NAME: &str = "hearth.service";

/// `CAP_IPC_LOCK`'s bit in the capability sets.
const CAP_IPC_LOCK: u32 = 14;

/// The fields of `/proc/<pid>/status` the privacy checks use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcStatus {
    /// `Seccomp:` 0 none, 1 strict, 2 filter (systemd's `SystemCallFilter=`).
    pub seccomp: Option<u8>,
    /// `NoNewPrivs:` 1 when set (`NoNewPrivileges=yes`).
    pub no_new_privs: Option<bool>,
    /// `VmLck:` locked memory in KiB.
    pub vm_lck_kib: Option<u64>,
    /// `CapEff:` effective capabilities.
    pub cap_eff: Option<u64>,
}

impl ProcStatus {
    /// Parses the text of a `/proc/<pid>/status` file; missing fields stay `None`.
    pub fn parse(text: &str) -> ProcStatus {
        let mut status = ProcStatus::default();
        for line in text.lines() {
            let Some((key, value)) = line.split_once(':') else { continue };
            let value = value.trim();
            match key {
                "Seccomp" => status.seccomp = value.parse().ok(),
                "NoNewPrivs" => status.no_new_privs = value.parse::<u8>().ok().map(|v| v == 1),
                "VmLck" => status.vm_lck_kib = value.trim_end_matches("kB").trim().parse().ok(),
                "CapEff" => status.cap_eff = u64::from_str_radix(value, 16).ok(),
                _ => {}
            }
        }
        status
    }

    /// True when the effective capabilities include `CAP_IPC_LOCK` (memory locking ignores the
    /// limit then).
    pub fn cap_ipc_lock(&self) -> bool {
        self.cap_eff.is_some_and(|c| c & (1 << CAP_IPC_LOCK) != 0)
    }
}

/// This process's `/proc/self/status`, if readable.
pub fn own_status() -> Option<ProcStatus> {
    proc_status(Path::new("/proc/self/status"))
}

fn proc_status(path: &Path) -> Option<ProcStatus> {
    std::fs::read_to_string(path).ok().map(|t| ProcStatus::parse(&t))
}

/// A cgroup v2 swap limit (`memory.swap.max`, what `MemorySwapMax=` sets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwapMax {
    /// `max`: no limit.
    Unlimited,
    /// At most this many bytes may be swapped (0 = none).
    Bytes(u64),
}

impl SwapMax {
    /// Parses `max` or a byte count (as in `memory.swap.max`; `infinity` as `systemctl show`
    /// prints it).
    pub fn parse(text: &str) -> Option<SwapMax> {
        match text.trim() {
            "max" | "infinity" => Some(SwapMax::Unlimited),
            t => t.parse().ok().map(SwapMax::Bytes),
        }
    }
}

/// The cgroup v2 path of this process (the `0::` line of `/proc/self/cgroup`).
pub fn parse_cgroup(text: &str) -> Option<String> {
    text.lines().find_map(|l| l.strip_prefix("0::")).map(str::to_owned)
}

/// Whether `/proc/swaps` lists any swap area (the first line is the header).
pub fn parse_swaps(text: &str) -> bool {
    text.lines().skip(1).any(|l| !l.trim().is_empty())
}

/// The installed unit's effective settings, from `systemctl show`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitView {
    /// `Key=value` as `systemctl show` prints them.
    pub properties: BTreeMap<String, String>,
    /// `/proc/<MainPID>/status` when the service runs.
    pub main_status: Option<ProcStatus>,
}

impl UnitView {
    /// Parses `systemctl show` output (`Key=value` per line).
    pub fn parse(text: &str) -> UnitView {
        let properties = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        UnitView { properties, main_status: None }
    }

    /// One property, `None` when absent or empty.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.properties.get(key).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// True when the unit file exists (`LoadState=loaded`).
    pub fn is_installed(&self) -> bool {
        self.get("LoadState") == Some("loaded")
    }

    /// The main process id while the service runs.
    pub fn main_pid(&self) -> Option<u32> {
        self.get("MainPID").and_then(|p| p.parse().ok()).filter(|&p| p != 0)
    }

    /// A yes/no property.
    pub fn flag(&self, key: &str) -> Option<bool> {
        self.get(key).map(|v| v == "yes")
    }
}

/// The properties `hearth privacy` reads from `systemctl show`.
pub const UNIT_PROPERTIES: &[&str] = &[
    "LoadState",
    "ActiveState",
    "MainPID",
    "FragmentPath",
    "User",
    "DynamicUser",
    "SupplementaryGroups",
    "MemorySwapMax",
    "LimitMEMLOCK",
    "NoNewPrivileges",
    "ProtectSystem",
    "ProtectHome",
    "PrivateTmp",
    "StateDirectory",
    "DevicePolicy",
    "IPAddressDeny",
    "IPAddressAllow",
    "RestrictAddressFamilies",
];

/// Everything about the running system the privacy report needs, read once.
#[derive(Debug, Clone)]
pub struct SystemView {
    /// Where the state directory is.
    pub state_dir: PathBuf,
    /// True when `$STATE_DIRECTORY` named it (running under systemd).
    pub state_dir_from_systemd: bool,
    /// `$INVOCATION_ID` is set: this process is a systemd service.
    pub under_systemd: bool,
    /// This process's `/proc/self/status`.
    pub status: Option<ProcStatus>,
    /// Soft memory-lock limit of this process.
    pub memlock_soft: MemlockLimit,
    /// Hard memory-lock limit of this process.
    pub memlock_hard: MemlockLimit,
    /// This process's cgroup swap limit, when cgroup v2 shows it.
    pub swap_max: Option<SwapMax>,
    /// Whether the system has swap active (`None`: `/proc/swaps` not readable, e.g. under
    /// `ProcSubset=pid`).
    pub swap_active: Option<bool>,
    /// The installed `hearth.service` (`None`: no systemd, no `systemctl`, or not running
    /// under it).
    pub unit: Option<UnitView>,
}

/// The state directory systemd gave the service (`$STATE_DIRECTORY`, its first entry), if any.
fn state_dir_from_env() -> Option<PathBuf> {
    std::env::var_os("STATE_DIRECTORY")
        .and_then(|v| v.to_str().and_then(|s| s.split(':').next()).map(PathBuf::from))
        .filter(|p| !p.as_os_str().is_empty())
}

/// The service's state directory: `$STATE_DIRECTORY` as systemd sets it, else
/// [`DEFAULT_STATE_DIR`].
pub fn state_dir() -> PathBuf {
    state_dir_from_env().unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR))
}

impl SystemView {
    /// Reads the current system: environment, `/proc`, the cgroup, `systemctl show hearth`.
    pub fn current() -> SystemView {
        let from_env = state_dir_from_env();
        let (memlock_soft, memlock_hard) = memlock_limits();
        let swap_max = std::fs::read_to_string("/proc/self/cgroup")
            .ok()
            .and_then(|t| parse_cgroup(&t))
            .and_then(|cg| {
                std::fs::read_to_string(
                    Path::new("/sys/fs/cgroup").join(cg.trim_start_matches('/')).join("memory.swap.max"),
                )
                .ok()
            })
            .and_then(|t| SwapMax::parse(&t));
        SystemView {
            state_dir_from_systemd: from_env.is_some(),
            state_dir: from_env.unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR)),
            under_systemd: std::env::var_os("INVOCATION_ID").is_some(),
            status: own_status(),
            memlock_soft,
            memlock_hard,
            swap_max,
            swap_active: std::fs::read_to_string("/proc/swaps").ok().map(|t| parse_swaps(&t)),
            unit: systemctl_show(),
        }
    }

    /// True when `mlockall` would lock this process's memory (see
    /// [`plan`](super::memlock::plan)).
    pub fn can_lock_memory(&self) -> bool {
        let cap = self.status.as_ref().is_some_and(ProcStatus::cap_ipc_lock);
        super::memlock::plan(self.memlock_soft, self.memlock_hard, cap) != super::memlock::LockPlan::Skip
    }
}

/// `systemctl show hearth.service` with [`UNIT_PROPERTIES`], plus the main process's status
/// when it runs; `None` without `systemctl` or a running systemd.
fn systemctl_show() -> Option<UnitView> {
    let output = Command::new("systemctl")
        .arg("show")
        .arg(UNIT_NAME)
        .arg(format!("--property={}", UNIT_PROPERTIES.join(",")))
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let mut view = UnitView::parse(&String::from_utf8_lossy(&output.stdout));
    view.main_status =
        view.main_pid().and_then(|pid| proc_status(&Path::new("/proc").join(pid.to_string()).join("status")));
    Some(view)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_status_fields() {
        let text = "Name:\thearth\nVmLck:\t  123456 kB\nCapEff:\t0000000000004000\nNoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t3\n";
        let s = ProcStatus::parse(text);
        assert_eq!(s.seccomp, Some(2));
        assert_eq!(s.no_new_privs, Some(true));
        assert_eq!(s.vm_lck_kib, Some(123_456));
        assert!(s.cap_ipc_lock());
        let none = ProcStatus::parse("CapEff:\t0000000000000000\nNoNewPrivs:\t0\n");
        assert!(!none.cap_ipc_lock());
        assert_eq!(none.no_new_privs, Some(false));
        assert_eq!(none.seccomp, None);
    }

    #[test]
    fn cgroup_swaps_and_swap_max() {
        assert_eq!(parse_cgroup("0::/system.slice/hearth.service\n").as_deref(), Some("/system.slice/hearth.service"));
        assert_eq!(parse_cgroup("12:memory:/foo\n"), None, "cgroup v1 has no memory.swap.max");
        assert!(!parse_swaps("Filename\tType\tSize\tUsed\tPriority\n"));
        assert!(parse_swaps("Filename\tType\tSize\tUsed\tPriority\n/swapfile file 102396 0 -2\n"));
        assert_eq!(SwapMax::parse("0\n"), Some(SwapMax::Bytes(0)));
        assert_eq!(SwapMax::parse("max\n"), Some(SwapMax::Unlimited));
        assert_eq!(SwapMax::parse("infinity"), Some(SwapMax::Unlimited));
        assert_eq!(SwapMax::parse("lots"), None);
    }

    #[test]
    fn systemctl_show_output() {
        let u = UnitView::parse(
            "LoadState=loaded\nMainPID=0\nMemorySwapMax=0\nUser=hearth\nIPAddressDeny=0.0.0.0/0 ::/0\nFragmentPath=\n",
        );
        assert!(u.is_installed());
        assert_eq!(u.main_pid(), None);
        assert_eq!(u.get("IPAddressDeny"), Some("0.0.0.0/0 ::/0"));
        assert_eq!(u.get("FragmentPath"), None);
        assert!(!UnitView::parse("LoadState=not-found\n").is_installed());
    }
}

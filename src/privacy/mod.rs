//! The retention guarantee (CONTRACTS.md §4) made visible and checked: what Hearth keeps, where
//! and for how long, which network peers it talks to, and the checks behind `hearth privacy`
//! (no audio in the state directory, memory kept out of swap, the service's restrictions in
//! effect). Also the two things `hearth run` does for privacy at start: [`lock_memory`] and the
//! [`diagnostic_summary`] it publishes to `hearth/<site>/privacy`, and systemd notifications.
//!
//! - [`memlock`]: `mlockall` where the limit allows, and why only then.
//! - [`scan`]: audio files by extension, header and sample statistics.
//! - [`system`]: `/proc`, the cgroup and `systemctl show`, parsed by pure functions.
//! - [`notify`]: `sd_notify` readiness and watchdog datagrams.
//!
//! [`build_report`] is pure over what [`SystemView::current`] and [`scan_dir`] read, so every
//! verdict is tested without systemd.

pub mod memlock;
pub mod notify;
pub mod scan;
pub mod system;

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use crate::config::{PrivacySettings, Settings, TranscriptPolicy};

pub use memlock::{MemlockLimit, MemoryLock, NotLocked, lock_memory};
pub use notify::{notify_ready, notify_stopping, notify_watchdog, watchdog_interval};
pub use scan::{AudioFile, AudioKind, DirScan, scan_dir};
pub use system::{DEFAULT_STATE_DIR, ProcStatus, SwapMax, SystemView, UnitView, state_dir};

/// The most audio the capture ring holds, in seconds (`audio::mic`'s ring); the pre-roll kept
/// from before the wake word is no longer than this either.
pub const RING_SECONDS: u32 = 2;

/// The addresses the shipped unit lets the service reach (`IPAddressAllow=`).
pub const ALLOWED_NETWORKS: &str = "localhost link-local multicast 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16";

/// Everything that can fail in the privacy module; each message names the thing and the fix.
#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    /// The state directory exists but cannot be read.
    #[error(
        "cannot read the state directory {path}: {source}; run `sudo hearth privacy` (the directory belongs to the service's user)"
    )]
    StateDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A systemd notification could not be sent.
    #[error(
        "cannot notify systemd through {socket}: {source}; check the unit's NotifyAccess= and that NOTIFY_SOCKET is systemd's"
    )]
    Notify {
        /// `$NOTIFY_SOCKET`.
        socket: String,
        /// Why.
        source: std::io::Error,
    },
}

/// The verdict of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The guarantee holds.
    Ok,
    /// Worth knowing, but not a broken guarantee (e.g. no service installed to check).
    Note,
    /// The guarantee is broken or cannot be verified: `hearth privacy` exits 1.
    Fail,
}

/// One check of the privacy report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// The verdict.
    pub status: Status,
    /// What was found, in plain words (further lines list the items found).
    pub detail: String,
    /// What to do, for a `Fail` or `Note`.
    pub fix: Option<String>,
}

impl Check {
    fn new(name: &'static str, status: Status, detail: impl Into<String>, fix: Option<String>) -> Check {
        Check { name, status, detail: detail.into(), fix }
    }
}

/// What `hearth privacy` prints: the policy in plain words, the network peers, the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivacyReport {
    /// What is kept, where, for how long: one paragraph per kind of data.
    pub kept: Vec<String>,
    /// Every network peer the service talks to, and the statement that there is nothing else.
    pub peers: Vec<String>,
    /// The verifications.
    pub checks: Vec<Check>,
}

impl PrivacyReport {
    /// True when no check failed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.status != Status::Fail)
    }

    /// The checks that failed.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.status == Status::Fail)
    }

    /// The report as printed by `hearth privacy`.
    pub fn render(&self) -> String {
        let mut out = String::from("What Hearth keeps\n");
        for line in &self.kept {
            let _ = writeln!(out, "  - {line}");
        }
        out.push_str("\nWho Hearth talks to\n");
        for line in &self.peers {
            let _ = writeln!(out, "  - {line}");
        }
        out.push_str("\nChecks\n");
        for c in &self.checks {
            let tag = match c.status {
                Status::Ok => "ok  ",
                Status::Note => "note",
                Status::Fail => "FAIL",
            };
            let _ = writeln!(out, "  {tag}  {}: {}", c.name, c.detail.replace('\n', "\n          "));
            if let Some(fix) = &c.fix {
                let _ = writeln!(out, "        fix: {fix}");
            }
        }
        let failed = self.failures().count();
        if failed == 0 {
            out.push_str("\nResult: the retention policy holds.\n");
        } else {
            let _ = writeln!(out, "\nResult: {failed} problem(s); see FAIL above.");
        }
        out
    }
}

/// Reads the system and the state directory and builds the report for `settings`.
pub fn run_report(settings: &Settings) -> PrivacyReport {
    let system = SystemView::current();
    let scan = scan_dir(&system.state_dir);
    build_report(settings, &system, &scan)
}

/// The report from what was read (pure).
pub fn build_report(settings: &Settings, system: &SystemView, scan: &Result<DirScan, PrivacyError>) -> PrivacyReport {
    PrivacyReport {
        kept: kept(&settings.privacy, system),
        peers: peers(settings),
        checks: vec![
            audio_check(system, scan),
            swap_check(system),
            restrictions_check(system),
            network_check(settings),
        ],
    }
}

/// "24h", "30m", "90s".
fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => format!("{} ms", d.as_millis()),
        _ if s.is_multiple_of(86_400) => format!("{} d", s / 86_400),
        _ if s.is_multiple_of(3600) => format!("{} h", s / 3600),
        _ if s.is_multiple_of(60) => format!("{} min", s / 60),
        _ => format!("{s} s"),
    }
}

fn kept(privacy: &PrivacySettings, system: &SystemView) -> Vec<String> {
    let transcripts = match privacy.transcripts {
        TranscriptPolicy::Discard => {
            "Transcripts: not kept ([privacy] transcripts = \"discard\"). The text of a command \
             lives in memory only until its intent is decided, then it is dropped. It is not logged, and the \
             hearth/<site>/intent event carries only the intent and its slots, not the text."
                .to_owned()
        }
        TranscriptPolicy::Log => {
            "Transcripts: written to the system journal ([privacy] transcripts = \"log\"), kept as \
             long as journald keeps logs (`journalctl --disk-usage`; MaxRetentionSec= in journald.conf limits it), \
             and sent as `text` in the hearth/<site>/intent event, so the broker's subscribers see it and Home \
             Assistant's recorder stores it with the event (10 days by default)."
                .to_owned()
        }
        TranscriptPolicy::Keep => format!(
            "Transcripts: kept in memory for at most {} ([privacy] transcripts = \"keep\", keep_for) and sent as \
             `text` in the hearth/<site>/intent event (Home Assistant's recorder stores it with the event, 10 days \
             by default). Never written to disk by Hearth, gone when it stops.",
            human(privacy.keep_for)
        ),
    };
    vec![
        format!(
            "Audio: never written to disk, never logged, never sent. It is held in memory only: the capture ring \
             (at most {RING_SECONDS} s, overwritten continuously and wiped as it is read), the pre-roll from just \
             before the wake word (at most {RING_SECONDS} s) and the command being transcribed. Each buffer is \
             overwritten with zeros as soon as its command is transcribed or discarded."
        ),
        transcripts,
        "Answers: what Hearth says back (and announcements from hearth/<site>/say) is rendered, spoken and \
         played in memory; the text is sent only in the intent event on MQTT, the audio never leaves the \
         speaker, and neither is ever written to disk or to the default log."
            .to_owned(),
        "Logs: at the default level they never contain what was said, only timings, scores and errors.".to_owned(),
        format!(
            "Files: the service may write only to its state directory {} ({}); it never holds audio (checked below).",
            system.state_dir.display(),
            if system.state_dir_from_systemd {
                "$STATE_DIRECTORY, set by systemd"
            } else {
                "the default; systemd sets $STATE_DIRECTORY"
            }
        ),
    ]
}

fn peers(settings: &Settings) -> Vec<String> {
    let m = &settings.mqtt;
    let mut lines = Vec::new();
    match &m.host {
        Some(host) => {
            let tls = if m.tls_ca.is_some() || m.tls_cert.is_some() { "TLS" } else { "plain TCP, not encrypted" };
            let user = m.username.as_deref().map(|u| format!(", as user {u}")).unwrap_or_default();
            lines.push(format!("The MQTT broker at {host}:{} ({tls}{user}): commands, the intent event, the satellite's own state.", m.port));
            if host.parse::<IpAddr>().is_err() {
                lines.push(format!("The system's name resolver, to look up {host} (e.g. /etc/hosts or the local DNS server)."));
            }
        }
        None => lines.push(format!(
            "The embedded MQTT broker Hearth starts on 127.0.0.1:{} (no [mqtt] host): loopback only, reachable from this machine only.",
            m.port
        )),
    }
    lines.push(format!(
        "Nothing else: no cloud, no telemetry, no update checks. The shipped unit lets the service reach only {ALLOWED_NETWORKS}. \
         (`hearth model fetch` downloads models only when you run it yourself.)"
    ));
    lines
}

fn audio_check(system: &SystemView, scan: &Result<DirScan, PrivacyError>) -> Check {
    const NAME: &str = "no audio on disk";
    let scan = match scan {
        Err(e) => return Check::new(NAME, Status::Fail, e.to_string(), Some("run `sudo hearth privacy`".into())),
        Ok(scan) => scan,
    };
    let dir = system.state_dir.display();
    if !scan.exists {
        return Check::new(
            NAME,
            Status::Ok,
            format!("the state directory {dir} does not exist, so nothing is stored"),
            None,
        );
    }
    if !scan.audio.is_empty() {
        let mut detail = format!("{} audio file(s) in the state directory {dir}:", scan.audio.len());
        for f in scan.audio.iter().take(2000) {
            let _ = write!(detail, "\n{}: {}, {} bytes", f.path.display(), f.kind, f.bytes);
        }
        if scan.audio.len() > 2000 {
            let _ = write!(detail, "\nand {} more", scan.audio.len() - 20);
        }
        return Check::new(
            NAME,
            Status::Fail,
            detail,
            Some(
                "Hearth never writes audio: delete these files (`shred -u FILE`) and find out what put them there \
                 (another program using this directory, or a modified build)"
                    .into(),
            ),
        );
    }
    if !scan.unreadable.is_empty() {
        let list: Vec<String> = scan.unreadable.iter().take(5).map(|(p, e)| format!("{} ({e})", p.display())).collect();
        return Check::new(
            NAME,
            Status::Fail,
            format!("{} item(s) in {dir} could not be checked: {}", scan.unreadable.len(), list.join("; ")),
            Some("run `sudo hearth privacy` so every file can be read".into()),
        );
    }
    Check::new(
        NAME,
        Status::Ok,
        format!(
            "no audio in the state directory {dir} ({} file(s) checked by name, header and content)",
            scan.files_checked
        ),
        None,
    )
}

/// What the service's swap protection amounts to.
fn swap_check(system: &SystemView) -> Check {
    const NAME: &str = "audio cannot reach swap";
    let fix_unit =
        "set MemorySwapMax=0 and LimitMEMLOCK=infinity in the unit, as systemd/hearth.service does".to_owned();
    let swap_off = system.swap_active == Some(false);
    let swap_words = match system.swap_active {
        Some(false) => "the system has no swap active",
        Some(true) => "the system has swap active",
        None => "whether the system has swap is not visible here",
    };
    if system.under_systemd {
        let locked = system.status.as_ref().and_then(|s| s.vm_lck_kib).is_some_and(|k| k > 0);
        let no_swap_cgroup = system.swap_max == Some(SwapMax::Bytes(0));
        let mut facts = vec![swap_words.to_owned()];
        if no_swap_cgroup {
            facts.push("this service may not swap (MemorySwapMax=0)".into());
        }
        if locked {
            facts.push("its memory is locked (mlockall)".into());
        } else if system.can_lock_memory() {
            facts.push("its memory can be locked (mlockall)".into());
        } else {
            facts.push(format!("its memory cannot be locked (RLIMIT_MEMLOCK {})", system.memlock_soft));
        }
        let ok = swap_off || no_swap_cgroup || locked || system.can_lock_memory();
        return Check::new(
            NAME,
            if ok { Status::Ok } else { Status::Fail },
            facts.join("; "),
            (!ok).then_some(fix_unit),
        );
    }
    if let Some(unit) = system.unit.as_ref().filter(|u| u.is_installed()) {
        let swap_max_zero = unit.get("MemorySwapMax").and_then(SwapMax::parse) == Some(SwapMax::Bytes(0));
        let memlock_unlimited = unit.get("LimitMEMLOCK") == Some("infinity");
        let mut facts = vec![
            swap_words.to_owned(),
            format!("{}: MemorySwapMax={}", system::UNIT_NAME, unit.get("MemorySwapMax").unwrap_or("?")),
            format!("LimitMEMLOCK={}", unit.get("LimitMEMLOCK").unwrap_or("?")),
        ];
        if let Some(kib) = unit.main_status.as_ref().and_then(|s| s.vm_lck_kib) {
            facts.push(format!("the running service has {} MiB locked", kib / 1024));
        }
        let ok = swap_off || swap_max_zero || memlock_unlimited;
        return Check::new(
            NAME,
            if ok { Status::Ok } else { Status::Fail },
            facts.join("; "),
            (!ok).then_some(fix_unit),
        );
    }
    let shell = if system.can_lock_memory() {
        "`hearth run` started from this shell would lock its memory".to_owned()
    } else {
        format!(
            "`hearth run` started from this shell could not lock its memory (RLIMIT_MEMLOCK {})",
            system.memlock_soft
        )
    };
    let detail = format!("{swap_words}; the hearth service is not installed (or systemd is not running); {shell}");
    if swap_off || system.can_lock_memory() {
        Check::new(NAME, Status::Ok, detail, None)
    } else {
        Check::new(
            NAME,
            Status::Note,
            detail,
            Some(
                "install systemd/hearth.service (README, Install), or run `ulimit -l unlimited` before `hearth run`"
                    .into(),
            ),
        )
    }
}

fn restrictions_check(system: &SystemView) -> Check {
    const NAME: &str = "service restrictions";
    let install = "install and start systemd/hearth.service as the README's Install section says".to_owned();
    if system.under_systemd {
        let status = system.status.clone().unwrap_or_default();
        let mut missing = Vec::new();
        if status.no_new_privs != Some(true) {
            missing.push("NoNewPrivileges=yes");
        }
        if status.seccomp != Some(2) {
            missing.push("SystemCallFilter=@system-service");
        }
        return if missing.is_empty() {
            Check::new(NAME, Status::Ok, "running under systemd with no-new-privileges and a system-call filter", None)
        } else {
            Check::new(
                NAME,
                Status::Fail,
                format!("running under systemd without {}", missing.join(" and ")),
                Some(format!("add {} to the unit (systemd/hearth.service has them)", missing.join(" and "))),
            )
        };
    }
    let Some(unit) = system.unit.as_ref().filter(|u| u.is_installed()) else {
        return Check::new(
            NAME,
            Status::Note,
            "not running under systemd, and no hearth.service is installed (or systemd is not running): the service's sandbox cannot be checked",
            Some(install),
        );
    };
    let mut missing: Vec<String> = Vec::new();
    let mut want = |ok: bool, setting: &str| {
        if !ok {
            missing.push(setting.to_owned());
        }
    };
    let user = unit.get("User").unwrap_or("root");
    want(unit.flag("DynamicUser") == Some(true) || (user != "root" && user != "0"), "User=hearth (or DynamicUser=yes)");
    want(unit.flag("NoNewPrivileges") == Some(true), "NoNewPrivileges=yes");
    want(unit.get("ProtectSystem") == Some("strict"), "ProtectSystem=strict");
    want(matches!(unit.get("ProtectHome"), Some("yes" | "read-only" | "tmpfs")), "ProtectHome=yes");
    want(unit.flag("PrivateTmp") == Some(true), "PrivateTmp=yes");
    want(unit.get("IPAddressDeny").is_some(), "IPAddressDeny=any");
    want(unit.get("DevicePolicy") == Some("closed"), "DevicePolicy=closed");
    let mut detail = format!(
        "{} ({}): user {user}{}, ProtectSystem={}, IPAddressAllow={}",
        system::UNIT_NAME,
        unit.get("FragmentPath").unwrap_or("installed"),
        if unit.flag("DynamicUser") == Some(true) { " (dynamic)" } else { "" },
        unit.get("ProtectSystem").unwrap_or("no"),
        unit.get("IPAddressAllow").unwrap_or("(any)"),
    );
    if let Some(s) = &unit.main_status {
        let _ = write!(
            detail,
            "; running with seccomp {} and no-new-privileges {}",
            if s.seccomp == Some(2) { "on" } else { "off" },
            if s.no_new_privs == Some(true) { "on" } else { "off" }
        );
    }
    if missing.is_empty() {
        Check::new(NAME, Status::Ok, detail, None)
    } else {
        let _ = write!(detail, "; missing {}", missing.join(", "));
        Check::new(
            NAME,
            Status::Fail,
            detail,
            Some(format!("add {} to the unit (compare with systemd/hearth.service)", missing.join(", "))),
        )
    }
}

/// True when the shipped unit's `IPAddressAllow=` admits `ip`.
pub fn allowed_by_unit(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private() || v4.is_link_local() || v4.is_multicast(),
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_multicast()
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6.to_ipv4_mapped().is_some_and(|v4| allowed_by_unit(IpAddr::V4(v4)))
        }
    }
}

fn network_check(settings: &Settings) -> Check {
    const NAME: &str = "broker on the local network";
    let port = settings.mqtt.port;
    match settings.mqtt.host.as_deref() {
        None => Check::new(NAME, Status::Ok, format!("embedded broker on 127.0.0.1:{port}"), None),
        Some(host) => match host.trim_matches(['[', ']']).parse::<IpAddr>() {
            Ok(ip) if allowed_by_unit(ip) => {
                Check::new(NAME, Status::Ok, format!("{host}:{port} is a local address the unit allows"), None)
            }
            Ok(_) => Check::new(
                NAME,
                Status::Fail,
                format!(
                    "{host}:{port} is not a local address: the unit's IPAddressDeny blocks it, and commands would leave the house"
                ),
                Some(format!("use a broker on your local network ({ALLOWED_NETWORKS}) in [mqtt] host")),
            ),
            Err(_) => Check::new(
                NAME,
                Status::Ok,
                format!("{host}:{port}; the name must resolve to a local address, the unit blocks any other"),
                None,
            ),
        },
    }
}

/// The retained JSON `hearth run` publishes to `hearth/<site>/privacy` (Home Assistant shows it
/// as the diagnostic sensor "Privacy": state `status`, the rest as attributes). Holds no
/// speech, no transcript and no file names: the transcript policy, how many audio files the
/// state directory holds (0 is the only right answer) and whether memory is locked.
///
/// `status` is `"ok"`, or `"problem"` when audio files were found.
pub fn diagnostic_summary(policy: &PrivacySettings, audio_files_found: usize, memory: &MemoryLock) -> Value {
    let transcripts = match policy.transcripts {
        TranscriptPolicy::Discard => "discard",
        TranscriptPolicy::Log => "log",
        TranscriptPolicy::Keep => "keep",
    };
    let mut summary = json!({
        "status": if audio_files_found == 0 { "ok" } else { "problem" },
        "transcripts": transcripts,
        "audio_on_disk": audio_files_found > 0,
        "audio_files_found": audio_files_found,
        "memory_locked": memory.is_locked(),
        "memory": memory.describe(),
    });
    if policy.transcripts == TranscriptPolicy::Keep {
        summary["keep_for_s"] = Value::from(policy.keep_for.as_secs());
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RawConfig;
    use std::path::Path;

    fn settings(toml: &str) -> Settings {
        RawConfig::parse(toml, Path::new("t.toml"))
            .unwrap()
            .validate(Path::new("t.toml"), Path::new("/etc/hearth"))
            .unwrap()
    }

    fn shell_system() -> SystemView {
        SystemView {
            state_dir: PathBuf::from("/var/lib/hearth"),
            state_dir_from_systemd: false,
            under_systemd: false,
            status: Some(ProcStatus::default()),
            memlock_soft: MemlockLimit::Bytes(8 << 20),
            memlock_hard: MemlockLimit::Bytes(8 << 20),
            swap_max: None,
            swap_active: Some(true),
            unit: None,
        }
    }

    fn clean_scan() -> Result<DirScan, PrivacyError> {
        Ok(DirScan { dir: "/var/lib/hearth".into(), exists: true, files_checked: 2, ..DirScan::default() })
    }

    fn check<'a>(report: &'a PrivacyReport, name: &str) -> &'a Check {
        report.checks.iter().find(|c| c.name == name).unwrap()
    }

    #[test]
    fn policy_words_follow_the_config() {
        let r = build_report(&settings(""), &shell_system(), &clean_scan());
        let text = r.render();
        assert!(text.contains("Audio: never written to disk"), "{text}");
        assert!(text.contains("Answers: what Hearth says back"), "{text}");
        assert!(text.contains("at most 2 s"), "{text}");
        assert!(text.contains("Transcripts: not kept"), "{text}");
        assert!(text.contains("embedded MQTT broker Hearth starts on 127.0.0.1:1883"), "{text}");
        assert!(text.contains("Nothing else"), "{text}");
        let keep = build_report(
            &settings("[privacy]\ntranscripts = \"keep\"\nkeep_for = \"30m\"\n"),
            &shell_system(),
            &clean_scan(),
        );
        assert!(keep.kept[1].contains("at most 30 min"), "{}", keep.kept[1]);
        let log = build_report(&settings("[privacy]\ntranscripts = \"log\"\n"), &shell_system(), &clean_scan());
        assert!(log.kept[1].contains("journal"), "{}", log.kept[1]);
        let remote = build_report(
            &settings("[mqtt]\nhost = \"broker.lan\"\nport = 8883\ntls_ca = \"ca.pem\"\n"),
            &shell_system(),
            &clean_scan(),
        );
        assert!(remote.peers[0].contains("broker.lan:8883 (TLS"), "{:?}", remote.peers);
        assert!(remote.peers[1].contains("resolver"), "{:?}", remote.peers);
    }

    #[test]
    fn audio_found_fails_with_the_files_and_the_fix() {
        let scan = Ok(DirScan {
            dir: "/var/lib/hearth".into(),
            exists: true,
            files_checked: 3,
            audio: vec![AudioFile { path: "/var/lib/hearth/x.bin".into(), kind: AudioKind::Wav, bytes: 44 }],
            unreadable: vec![],
        });
        let r = build_report(&settings(""), &shell_system(), &scan);
        assert!(!r.passed());
        let c = check(&r, "no audio on disk");
        assert_eq!(c.status, Status::Fail);
        assert!(c.detail.contains("\n/var/lib/hearth/x.bin: WAV"), "{}", c.detail);
        assert!(c.fix.as_deref().unwrap().contains("shred -u"), "{:?}", c.fix);
        assert!(r.render().contains("Result: 1 problem(s)"));
    }

    #[test]
    fn a_missing_state_directory_is_fine_and_an_unreadable_one_is_not() {
        let none = Ok(DirScan { dir: "/var/lib/hearth".into(), ..DirScan::default() });
        let r = build_report(&settings(""), &shell_system(), &none);
        assert_eq!(check(&r, "no audio on disk").status, Status::Ok);
        let denied = Err(PrivacyError::StateDir {
            path: "/var/lib/hearth".into(),
            source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        });
        let r = build_report(&settings(""), &shell_system(), &denied);
        let c = check(&r, "no audio on disk");
        assert_eq!(c.status, Status::Fail);
        assert!(c.detail.contains("sudo hearth privacy"), "{}", c.detail);
    }

    #[test]
    fn from_a_shell_without_the_unit_the_sandbox_is_a_note_not_a_failure() {
        let r = build_report(&settings(""), &shell_system(), &clean_scan());
        assert!(r.passed(), "{}", r.render());
        assert_eq!(check(&r, "service restrictions").status, Status::Note);
        let swap = check(&r, "audio cannot reach swap");
        assert_eq!(swap.status, Status::Note);
        assert!(swap.detail.contains("could not lock") && swap.detail.contains("8 MiB"), "{}", swap.detail);
    }

    #[test]
    fn under_systemd_the_process_itself_is_judged() {
        let mut sys = shell_system();
        sys.under_systemd = true;
        sys.status = Some(ProcStatus { seccomp: Some(2), no_new_privs: Some(true), ..ProcStatus::default() });
        sys.swap_max = Some(SwapMax::Bytes(0));
        let r = build_report(&settings(""), &sys, &clean_scan());
        assert!(r.passed(), "{}", r.render());
        assert!(check(&r, "audio cannot reach swap").detail.contains("MemorySwapMax=0"));
        // A unit without the protections.
        sys.status = Some(ProcStatus { seccomp: Some(0), no_new_privs: Some(false), ..ProcStatus::default() });
        sys.swap_max = Some(SwapMax::Unlimited);
        let r = build_report(&settings(""), &sys, &clean_scan());
        assert_eq!(r.failures().count(), 2, "{}", r.render());
        assert!(check(&r, "audio cannot reach swap").fix.as_deref().unwrap().contains("LimitMEMLOCK=infinity"));
        assert!(check(&r, "service restrictions").fix.as_deref().unwrap().contains("NoNewPrivileges=yes"));
        // An unlimited memory-lock limit alone is enough.
        sys.memlock_soft = MemlockLimit::Unlimited;
        let r = build_report(&settings(""), &sys, &clean_scan());
        assert_eq!(check(&r, "audio cannot reach swap").status, Status::Ok);
    }

    #[test]
    fn the_installed_unit_is_judged_from_a_shell() {
        let mut sys = shell_system();
        let mut unit = UnitView::parse(
            "LoadState=loaded\nMainPID=0\nUser=hearth\nMemorySwapMax=0\nLimitMEMLOCK=infinity\nNoNewPrivileges=yes\n\
             ProtectSystem=strict\nProtectHome=yes\nPrivateTmp=yes\nIPAddressDeny=0.0.0.0/0 ::/0\nDevicePolicy=closed\n",
        );
        sys.unit = Some(unit.clone());
        let r = build_report(&settings(""), &sys, &clean_scan());
        assert!(r.passed(), "{}", r.render());
        unit.properties.insert("MemorySwapMax".into(), "infinity".into());
        unit.properties.insert("LimitMEMLOCK".into(), "8388608".into());
        unit.properties.insert("ProtectSystem".into(), "no".into());
        sys.unit = Some(unit);
        let r = build_report(&settings(""), &sys, &clean_scan());
        assert_eq!(check(&r, "audio cannot reach swap").status, Status::Fail);
        let c = check(&r, "service restrictions");
        assert_eq!(c.status, Status::Fail);
        assert!(c.detail.contains("missing ProtectSystem=strict"), "{}", c.detail);
    }

    #[test]
    fn a_broker_outside_the_local_network_fails() {
        let public = build_report(&settings("[mqtt]\nhost = \"8.8.8.8\"\n"), &shell_system(), &clean_scan());
        let c = check(&public, "broker on the local network");
        assert_eq!(c.status, Status::Fail);
        assert!(c.fix.as_deref().unwrap().contains("192.168.0.0/16"));
        for host in ["192.168.1.10", "10.1.2.3", "172.20.0.5", "127.0.0.1", "::1", "fe80::1", "169.254.3.4"] {
            let ip: IpAddr = host.parse().unwrap();
            assert!(allowed_by_unit(ip), "{host}");
        }
        for host in ["8.8.8.8", "172.32.0.1", "2001:db8::1"] {
            assert!(!allowed_by_unit(host.parse().unwrap()), "{host}");
        }
    }

    #[test]
    fn the_summary_holds_no_speech_and_says_what_matters() {
        let s = settings("");
        let locked = MemoryLock::Locked { on_fault: true };
        let v = diagnostic_summary(&s.privacy, 0, &locked);
        assert_eq!(v["status"], "ok");
        assert_eq!(v["transcripts"], "discard");
        assert_eq!(v["audio_files_found"], 0);
        assert_eq!(v["memory_locked"], true);
        assert!(v.get("keep_for_s").is_none());
        let keep = settings("[privacy]\ntranscripts = \"keep\"\nkeep_for = \"1h\"\n");
        let v = diagnostic_summary(&keep.privacy, 2, &MemoryLock::NotLocked(NotLocked::Refused("denied".into())));
        assert_eq!(v["status"], "problem");
        assert_eq!(v["audio_on_disk"], true);
        assert_eq!(v["keep_for_s"], 3600);
        assert_eq!(v["memory_locked"], false);
        assert_eq!(v.as_object().unwrap().len(), 7);
    }
}

//! The retention guarantee checked from outside: `hearth privacy` finds real audio files of
//! every common format in the state directory (by header, by name, and headerless PCM by its
//! samples) and leaves other files alone; it prints the policy and exits 1 with the problem and
//! the fix; and `lock_memory` locks memory when the limit allows and otherwise warns once,
//! naming the fix (run in a child process, so the limit and the lock touch only it).

mod support;

use std::path::Path;
use std::process::{Command, Output};

use hearth::privacy::{AudioKind, scan_dir};

/// Spoken audio in many formats, made with espeak-ng and sox, plus files that are not audio.
/// Returns the folder and the names that must be found.
fn state_dir_with_audio() -> (tempfile::TempDir, Vec<&'static str>) {
    let dir = support::tempdir();
    let d = dir.path();
    std::fs::create_dir(d.join("nested")).unwrap();
    let speech = support::espeak("turn on the kitchen light", "en-us", 160, &d.join("nested/speech.wav"));
    let sox = |args: &[&str], out: &str| {
        let status = Command::new("sox")
            .args(["-R", "-D", "-V1"])
            .arg(&speech)
            .args(args)
            .arg(d.join(out))
            .status()
            .expect("sox is needed (apt-get install sox)");
        assert!(status.success(), "sox {args:?} {out}");
    };
    sox(&[], "clip.ogg");
    sox(&[], "clip.flac");
    sox(&[], "clip.aiff");
    sox(&[], "clip.au");
    sox(&["-t", "raw", "-e", "signed", "-b", "16"], "utterance.dat");
    sox(&["-t", "raw", "-r", "48000", "-c", "2", "-e", "signed", "-b", "16"], "capture48k.bin2");
    sox(&["-t", "raw", "-e", "float", "-b", "32"], "floats.cache");
    std::fs::copy(&speech, d.join("renamed.tmp")).unwrap();
    std::fs::write(d.join("headerless.pcm"), [0x5Au8, 0xA5, 0x00, 0x7F].repeat(10)).unwrap();
    // Not audio: text (even named .wav), JSON, an ONNX model, random bytes.
    std::fs::write(d.join("notes.wav"), "shopping list: milk\n").unwrap();
    std::fs::write(d.join("state.json"), r#"{"mic":"ON"}"#).unwrap();
    std::fs::copy(support::model("melspectrogram.onnx"), d.join("model.onnx")).unwrap();
    let mut seed = 0x1234_5678u32;
    let random: Vec<u8> = (0..100_000)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed as u8
        })
        .collect();
    std::fs::write(d.join("random.bin"), random).unwrap();
    let found = vec![
        "capture48k.bin2",
        "clip.aiff",
        "clip.au",
        "clip.flac",
        "clip.ogg",
        "floats.cache",
        "headerless.pcm",
        "nested/speech.wav",
        "renamed.tmp",
        "utterance.dat",
    ];
    (dir, found)
}

#[test]
#[ignore = "needs the test environment (models, Piper): run scripts/test"]
fn audio_is_found_by_header_name_and_samples_and_nothing_else_is() {
    let (dir, expected) = state_dir_with_audio();
    let scan = scan_dir(dir.path()).unwrap();
    let found: Vec<String> =
        scan.audio.iter().map(|f| f.path.strip_prefix(dir.path()).unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(found, expected, "{scan:#?}");
    assert!(scan.files_checked >= expected.len() + 3, "{scan:#?}");
    let kind = |name: &str| &scan.audio.iter().find(|f| f.path.ends_with(name)).unwrap().kind;
    assert_eq!(kind("renamed.tmp"), &AudioKind::Wav);
    assert_eq!(kind("clip.ogg"), &AudioKind::Ogg);
    assert_eq!(kind("clip.flac"), &AudioKind::Flac);
    assert_eq!(kind("clip.aiff"), &AudioKind::Aiff);
    assert_eq!(kind("clip.au"), &AudioKind::Au);
    assert_eq!(kind("utterance.dat"), &AudioKind::RawPcm);
    assert_eq!(kind("capture48k.bin2"), &AudioKind::RawPcm);
    assert_eq!(kind("floats.cache"), &AudioKind::RawPcm);
    assert_eq!(kind("headerless.pcm"), &AudioKind::Named("pcm".into()));
}

#[test]
fn a_missing_state_directory_holds_nothing() {
    let dir = support::tempdir();
    let scan = scan_dir(&dir.path().join("never-created")).unwrap();
    assert!(!scan.exists && scan.audio.is_empty());
}

/// `hearth privacy --config CONFIG` with `$STATE_DIRECTORY` set as systemd would, and not as a
/// systemd service itself (whatever runs the tests).
fn privacy(config_toml: &str, state_dir: &Path) -> (Output, String) {
    let dir = support::tempdir();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, config_toml).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["privacy", "--config"])
        .arg(&config)
        .env("STATE_DIRECTORY", state_dir)
        .env_remove("INVOCATION_ID")
        .env_remove("NOTIFY_SOCKET")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out, stdout)
}

#[test]
fn privacy_command_prints_the_policy_and_passes_on_a_clean_state_directory() {
    let state = support::tempdir();
    std::fs::write(state.path().join("state.json"), "{}").unwrap();
    let (out, stdout) = privacy("[privacy]\ntranscripts = \"keep\"\nkeep_for = \"30m\"\n", state.path());
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    for needle in [
        "What Hearth keeps",
        "Audio: never written to disk",
        "capture ring (at most 2 s",
        "overwritten with zeros",
        "kept in memory for at most 30 min",
        "Who Hearth talks to",
        "embedded MQTT broker Hearth starts on 127.0.0.1:1883",
        "Nothing else",
        &format!("ok    no audio on disk: no audio in the state directory {}", state.path().display()),
        "($STATE_DIRECTORY, set by systemd)",
        "Result: the retention policy holds.",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in:\n{stdout}");
    }
}

#[test]
#[ignore = "needs the test environment (models, Piper): run scripts/test"]
fn privacy_command_fails_on_audio_in_the_state_directory_with_the_fix() {
    let (state, _) = state_dir_with_audio();
    let (out, stdout) = privacy("", state.path());
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL  no audio on disk: 10 audio file(s) in the state directory"), "{stdout}");
    assert!(stdout.contains("renamed.tmp: WAV (RIFF/WAVE header)"), "{stdout}");
    assert!(stdout.contains("utterance.dat: headerless PCM audio"), "{stdout}");
    assert!(stdout.contains("fix: Hearth never writes audio: delete these files (`shred -u FILE`)"), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("hearth: privacy check failed: no audio on disk: 10 audio file(s)"), "{stderr}");
}

#[test]
fn privacy_command_fails_on_a_broker_outside_the_house() {
    let state = support::tempdir();
    let (out, stdout) = privacy("[mqtt]\nhost = \"203.0.113.7\"\n", state.path());
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("The MQTT broker at 203.0.113.7:1883 (plain TCP, not encrypted)"), "{stdout}");
    assert!(stdout.contains("FAIL  broker on the local network: 203.0.113.7:1883 is not a local address"), "{stdout}");
    assert!(stdout.contains("fix: use a broker on your local network"), "{stdout}");
}

#[test]
fn privacy_command_bad_config_is_exit_2() {
    let state = support::tempdir();
    let (out, _) = privacy("[privacy]\ntranscripts = \"forever\"\n", state.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("privacy.transcripts"));
}

// ---- memory locking, in a child process ----

/// How the child sets its memory-lock limit before calling `lock_memory`.
const CHILD_ENV: &str = "HEARTH_TEST_LOCK_CHILD";

/// Runs [`lock_memory_child`] in a new process of this test binary.
fn run_child(mode: &str) -> Output {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "lock_memory_child", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, mode)
        .env("RUST_LOG", "info")
        .output()
        .unwrap()
}

fn set_memlock(limit: libc::rlim_t) -> bool {
    let l = libc::rlimit { rlim_cur: limit, rlim_max: limit };
    // SAFETY: `l` is a valid rlimit.
    unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &l) == 0 }
}

/// The child: `low` = 64 KiB limit and (when root) no capabilities; `unlimited` = no limit.
#[test]
#[ignore = "run by the memory-lock tests in a child process"]
fn lock_memory_child() {
    let Ok(mode) = std::env::var(CHILD_ENV) else { return };
    match mode.as_str() {
        "low" => {
            assert!(set_memlock(64 * 1024), "lowering RLIMIT_MEMLOCK");
            // SAFETY: plain system calls; dropping root's identity clears CAP_IPC_LOCK.
            unsafe {
                if libc::geteuid() == 0 {
                    assert_eq!(libc::setgroups(0, std::ptr::null()), 0);
                    assert_eq!(libc::setgid(65534), 0);
                    assert_eq!(libc::setuid(65534), 0);
                }
            }
        }
        _ => {
            if !set_memlock(libc::RLIM_INFINITY) {
                println!("CANNOT-RAISE");
                return;
            }
        }
    }
    tracing_subscriber::fmt().with_writer(std::io::stderr).with_ansi(false).init();
    let lock = hearth::privacy::lock_memory();
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let vm_lck = status.lines().find(|l| l.starts_with("VmLck:")).unwrap_or("VmLck: ?").to_owned();
    println!("RESULT locked={} {} | {vm_lck}", lock.is_locked(), lock.describe());
}

fn result_line(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The harness prints "test lock_memory_child ... " before the child's own output.
    let at = stdout.find("RESULT").or_else(|| stdout.find("CANNOT-RAISE")).unwrap_or(stdout.len());
    stdout[at..].lines().next().unwrap_or_default().to_owned()
}

#[test]
fn a_low_memory_lock_limit_is_not_used_and_warned_about_once() {
    let out = run_child("low");
    let result = result_line(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(result.starts_with("RESULT locked=false not locked:"), "{result}\n{stderr}");
    assert!(result.contains("RLIMIT_MEMLOCK) is 64 KiB"), "{result}");
    assert!(result.contains("VmLck:\t       0 kB"), "nothing may be locked: {result}");
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("WARN")).collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    for fix in ["LimitMEMLOCK=infinity", "AmbientCapabilities=CAP_IPC_LOCK", "ulimit -l"] {
        assert!(warnings[0].contains(fix), "{}", warnings[0]);
    }
}

#[test]
fn an_unlimited_memory_lock_limit_locks_memory() {
    let out = run_child("unlimited");
    let result = result_line(&out);
    if result == "CANNOT-RAISE" {
        eprintln!("SKIPPED: this user may not raise RLIMIT_MEMLOCK to unlimited");
        return;
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(result.starts_with("RESULT locked=true locked"), "{result}\n{stderr}");
    let kib: u64 = result.rsplit("VmLck:").next().unwrap().trim().trim_end_matches("kB").trim().parse().unwrap();
    assert!(kib > 0, "{result}");
    assert!(stderr.contains("memory locked: audio cannot be swapped to disk") && !stderr.contains("WARN"), "{stderr}");
}

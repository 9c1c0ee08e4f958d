//! The retention guarantee, proved on the real pipeline: `hearth run` handles a spoken command
//! from a WAV file under `strace -f`, and no file-creating or file-writing system call touches
//! anything but the process's own sockets and pipes — no WAV dump, no temp file, nothing in the
//! state directory, the working directory or /tmp. (The log test in `run.rs` covers the logs.)

#[path = "support/mosquitto.rs"]
mod mosquitto;
mod support;

use std::path::Path;
use std::process::Command;

use mosquitto::Mosquitto;
use support::{concat, espeak, silence, tempdir};

fn strace_available() -> bool {
    Command::new("strace").arg("-V").output().is_ok_and(|o| o.status.success())
}

/// Whether an `open`/`openat` line of strace asks to create or write.
fn opens_for_writing(line: &str) -> bool {
    (line.contains("open(") || line.contains("openat(") || line.contains("openat2("))
        && ["O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_TMPFILE"].iter().any(|f| line.contains(f))
}

/// The path argument of a traced call, if it has one.
fn quoted_path(line: &str) -> Option<&str> {
    let start = line.find('"')? + 1;
    let end = start + line[start..].find('"')?;
    Some(&line[start..end])
}

#[test]
#[ignore = "needs the test environment (models, Piper): run scripts/test"]
fn hearth_run_writes_no_file_anywhere() {
    let model = support::model("ggml-tiny.en.bin");
    assert!(
        strace_available(),
        "strace is needed for the retention test: apt-get install strace (scripts/test installs it)"
    );
    let dir = tempdir();
    let broker = Mosquitto::start();
    let state = dir.path().join("state");
    let work = dir.path().join("work");
    let tmp = dir.path().join("tmp");
    for d in [&state, &work, &tmp] {
        std::fs::create_dir(d).unwrap();
    }
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[stt]\nmodel = \"{}\"\n[wake]\nmodels_dir = \"{}\"\n[mqtt]\nhost = \"127.0.0.1\"\nport = {}\n\
             [feedback]\nenabled = false\n[site]\nid = \"kitchen\"\n\
             [[entity]]\nname = \"Kitchen Light\"\nkind = \"light\"\ncommand_topic = \"z2m/kitchen/set\"\n",
            model.display(),
            support::models_dir().display(),
            broker.port()
        ),
    )
    .unwrap();
    let lead = silence(0.7, &dir.path().join("lead.wav"));
    let wake = espeak("hey jarvis", "en-us", 160, &dir.path().join("wake.wav"));
    let command = espeak("turn on the kitchen light", "en-us", 160, &dir.path().join("command.wav"));
    let trail = silence(1.5, &dir.path().join("trail.wav"));
    let file = concat(&[&lead, &wake, &command, &trail], 0.5, &dir.path().join("said.wav"));
    let trace = dir.path().join("trace.txt");

    let before: Vec<_> = [&state, &work, &tmp].iter().map(|d| std::fs::read_dir(d).unwrap().count()).collect();
    let out = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=%file,%desc", "-e", "signal=none", "-o"])
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_hearth"))
        .args(["run", "--config", config.to_str().unwrap(), "--input", file.to_str().unwrap()])
        .current_dir(&work)
        .env("TMPDIR", &tmp)
        .env("STATE_DIRECTORY", &state)
        .env_remove("HEARTH_CONFIG")
        .output()
        .expect("run strace");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("command handled"), "the command must have gone through the pipeline:\n{log}");

    let trace = std::fs::read_to_string(&trace).unwrap();
    // The trace really sees the process's files (the model and the input were opened).
    assert!(trace.contains("ggml-tiny.en.bin") && trace.contains("said.wav"), "strace saw no file access");
    let mut writes = Vec::new();
    for line in trace.lines() {
        // The call's name: the word before the first "(" after the pid ("readlink" is no "link").
        let call = line.split_once(' ').map_or(line, |(_, rest)| rest.trim_start());
        let call = call.strip_prefix("<... ").unwrap_or(call);
        let name = call.split(['(', ' ']).next().unwrap_or("");
        let creating = opens_for_writing(line)
            || [
                "creat",
                "mkdir",
                "mkdirat",
                "rename",
                "renameat",
                "renameat2",
                "link",
                "linkat",
                "symlink",
                "symlinkat",
                "mknod",
                "mknodat",
            ]
            .contains(&name);
        if !creating || line.contains("= -1 ") {
            continue;
        }
        let path = quoted_path(line).unwrap_or("");
        // Devices the process may open for writing: the null device, ALSA (none here), ttys.
        if path.starts_with("/dev/") || path.starts_with("/proc/self/") || path.starts_with("/sys/") {
            continue;
        }
        writes.push(line.to_string());
    }
    assert!(writes.is_empty(), "hearth run created or opened files for writing:\n{}", writes.join("\n"));
    let after: Vec<_> = [&state, &work, &tmp].iter().map(|d| std::fs::read_dir(d).unwrap().count()).collect();
    assert_eq!(before, after, "state, working or temp directory changed");
    assert!(Path::new(&file).exists());
}

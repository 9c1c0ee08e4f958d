//! A fake microphone for tests on machines without a sound card: the real cpal/ALSA capture
//! path, fed with audio the test chooses.
//!
//! # How it works
//!
//! [`FakeMic::new`] writes a test-only ALSA configuration into a temporary folder. Its PCM
//! ([`DEVICE`], also made the ALSA `default`) is ALSA's `file` plugin over a `null` slave: the
//! `null` slave supplies the timing bookkeeping, and the `file` plugin overwrites every period
//! with bytes read from its `infile`, here file descriptor 0 of the capturing process.
//! [`FakeMic::attach`] sets `ALSA_CONFIG_PATH` on a [`Command`] and makes the child's standard
//! input one end of a Unix socket pair; a feeder thread writes audio into the other end in real
//! time, 10 ms at a time: silence, or whatever [`FakeMic::play`] queued. So the child opens
//! an ordinary ALSA capture device and cpal's callback receives exactly the samples written.
//!
//! Pacing: `null` itself has no clock (it delivers as fast as it is read, so a capture from it
//! alone runs at CPU speed), so the pace comes from the feeder. The socket's receive low-water mark is set above any period size, which makes
//! every `read` the `file` plugin does wait for the whole period: no short reads, so no holes
//! (alsa-lib 1.2.8 would return a short read as a full period padded with stale bytes).
//!
//! # Example: `hearth run --input mic` fed with speech
//!
//! ```ignore
//! let dir = support::tempdir();
//! let mic = support::alsa::FakeMic::new(dir.path());
//! // config.toml: [audio] device = "hearth_test_mic" (or no [audio] at all: it is the default)
//! let mut cmd = Command::new(env!("CARGO_BIN_EXE_hearth"));
//! cmd.arg("run").arg("--config").arg(&config).args(["--input", "mic"]).stderr(Stdio::piped());
//! mic.attach(&mut cmd);
//! let mut child = cmd.spawn().unwrap();
//! // ... wait until hearth listens (a line on its stderr), then speak into the microphone:
//! let wav = support::espeak("hey jarvis turn on the kitchen light", "en-us", 175, &dir.path().join("c.wav"));
//! mic.play(&wav);
//! assert!(mic.wait_played(Duration::from_secs(10)));
//! // ... wait for the MQTT command; end the child before `mic` is dropped:
//! child.kill().unwrap();
//! child.wait().unwrap();
//! ```
//!
//! # Limits
//!
//! - Linux only; alsa-lib's `file`, `null` and `multi` plugins (built into libasound).
//! - The device accepts any format, so cpal chooses its preferred one: **48 kHz, `f32`**, stereo
//!   ([`Layout::Stereo`]) or mono ([`Layout::Mono`], through the `multi` plugin). Other native
//!   rates cannot be offered: below the `file` plugin, the plugins that fix the rate (`rate`,
//!   `plug`) read their slave through mmap, which bypasses its input (the capture is silent);
//!   above it they would only convert; `share`, which can fix rate, format and period, aborts
//!   on an assertion over `null` (alsa-lib 1.2.8). The feeder writes that format.
//! - Periods are alsa-lib's choice for `null` under the configuration's
//!   `defaults.pcm.minperiodtime 5000` (the value of the system's `alsa.conf`): 5 ms, 240
//!   frames, in a buffer of two (cpal's default). Without that line alsa-lib picks 1-frame
//!   periods, which work but cost a callback per frame. cpal first applies alsa-lib's own
//!   choice, whose buffer is huge on `null`: with `multi` (mono) that maps and unmaps about
//!   800 MB once at open, a few hundred ms of CPU.
//! - The child must not read its standard input (`hearth run --input mic` does not).
//! - One child per `FakeMic` (the socket is handed over by [`attach`](FakeMic::attach)).
//! - Until the child reads, the feeder blocks once the socket buffer is full (about 0.1 s of
//!   audio): audio is delayed, not lost. A real microphone would drop it instead.
//! - When the `FakeMic` is dropped the socket is closed. The child's reads then return
//!   end-of-file, which alsa-lib turns into periods of stale data as fast as they are read:
//!   end the child first.
//! - [`FakeMic::unplug`] removes the device from the configuration (alsa-lib re-reads a changed
//!   configuration file on the next open) and stops the feed, so an open stream stalls rather
//!   than failing the way a USB device does on removal; see its documentation.
//! - The `file` plugin also copies what it captured to its output file: `/dev/null` here.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The ALSA PCM name of the fake microphone (`[audio] device = "hearth_test_mic"`). The
/// configuration also makes it ALSA's `default`.
pub const DEVICE: &str = "hearth_test_mic";

/// The sample rate cpal negotiates on the fake microphone, in Hz.
pub const NATIVE_RATE: u32 = 48_000;

/// Settings of the system's `alsa.conf` the test configuration keeps (it replaces that file):
/// the shortest period alsa-lib chooses by itself, in µs.
const DEFAULTS: &str = "defaults.pcm.minperiodtime 5000\n";

/// Frames the feeder writes per step (10 ms).
const STEP_FRAMES: usize = 480;

/// How far behind its schedule the feeder may fall (because the reader was not reading) before
/// it restarts the schedule from now instead of catching up in a burst.
const MAX_LAG: Duration = Duration::from_millis(100);

/// Channel layout the fake microphone offers (cpal takes the only one there is).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Two channels.
    Stereo,
    /// One channel (the `file` plugin over a one-channel `multi` over `null`).
    Mono,
}

impl Layout {
    /// The channel count.
    pub fn channels(self) -> u16 {
        match self {
            Layout::Stereo => 2,
            Layout::Mono => 1,
        }
    }
}

/// State shared with the feeder thread.
struct Feed {
    /// Interleaved native-format samples waiting to be fed; silence when empty.
    queue: Mutex<VecDeque<f32>>,
    /// While set, nothing is written (the device "stalls").
    paused: AtomicBool,
    /// Set to end the feeder.
    stop: AtomicBool,
    /// Frames written so far (silence included).
    frames_written: AtomicU64,
    /// Set when a write failed (the reader is gone); the feeder has ended.
    broken: AtomicBool,
}

/// A microphone for a child process, fed by the test. See the [module docs](self).
pub struct FakeMic {
    /// The configuration file `ALSA_CONFIG_PATH` points at.
    config: PathBuf,
    layout: Layout,
    /// Folder for the configuration and converted WAV files.
    dir: PathBuf,
    /// The child's end of the socket, until [`attach`](Self::attach) hands it over.
    child_end: Mutex<Option<UnixStream>>,
    /// A handle on the feeder's end, to shut it down on drop (unblocks a pending write).
    writer_end: UnixStream,
    feed: Arc<Feed>,
    feeder: Option<JoinHandle<()>>,
    /// Names the converted WAV files.
    converted: AtomicU64,
}

impl FakeMic {
    /// A stereo fake microphone; its configuration goes into `dir` (a test's temporary folder).
    /// The feeder starts at once, writing silence.
    pub fn new(dir: &Path) -> FakeMic {
        FakeMic::with_layout(dir, Layout::Stereo)
    }

    /// [`new`](Self::new) with the channel layout given.
    pub fn with_layout(dir: &Path, layout: Layout) -> FakeMic {
        let config = dir.join("asoundrc");
        write_config(&config, layout, true);
        let (feeder_end, child_end) = UnixStream::pair().expect("create a socket pair");
        // Every read of the `file` plugin waits for all the bytes it asked for.
        set_socket_option(&child_end, SO_RCVLOWAT, i32::MAX).expect("set SO_RCVLOWAT on the microphone socket");
        // Little audio waits in the socket while the child is not reading.
        set_socket_option(&feeder_end, SO_SNDBUF, SEND_BUFFER).expect("set SO_SNDBUF on the feeder socket");
        let writer_end = feeder_end.try_clone().expect("clone the feeder socket");
        let feed = Arc::new(Feed {
            queue: Mutex::new(VecDeque::new()),
            paused: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            frames_written: AtomicU64::new(0),
            broken: AtomicBool::new(false),
        });
        let channels = usize::from(layout.channels());
        let feeder = {
            let feed = Arc::clone(&feed);
            std::thread::Builder::new()
                .name("fake-mic-feeder".into())
                .spawn(move || run_feeder(feeder_end, &feed, channels))
                .expect("start the feeder thread")
        };
        FakeMic {
            config,
            layout,
            dir: dir.to_path_buf(),
            child_end: Mutex::new(Some(child_end)),
            writer_end,
            feed,
            feeder: Some(feeder),
            converted: AtomicU64::new(0),
        }
    }

    /// Adds the fake speaker's device to this configuration, so one child captures from the
    /// microphone and plays on the speaker. (Call again after [`unplug`](Self::unplug) or
    /// [`replug`](Self::replug), which rewrite the configuration without it.)
    pub fn add_speaker(&self, speaker: &super::speaker::FakeSpeaker) {
        let text = std::fs::read_to_string(&self.config).unwrap();
        let tmp = self.config.with_extension("tmp");
        std::fs::write(&tmp, format!("{text}{}", speaker.alsa_config())).unwrap();
        std::fs::rename(&tmp, &self.config).unwrap();
    }

    /// The ALSA device name to capture from ([`DEVICE`]; `default` works too).
    pub fn device(&self) -> &'static str {
        DEVICE
    }

    /// The native format cpal will negotiate: (rate in Hz, channels); always `f32` samples.
    pub fn native_format(&self) -> (u32, u16) {
        (NATIVE_RATE, self.layout.channels())
    }

    /// The environment the child needs: `ALSA_CONFIG_PATH` pointing at the test-only
    /// configuration (which replaces the system's, so nothing else is visible to ALSA).
    pub fn env(&self) -> Vec<(&'static str, OsString)> {
        vec![("ALSA_CONFIG_PATH", self.config.clone().into_os_string())]
    }

    /// Prepares `cmd` to capture from this microphone: sets [`env`](Self::env) and makes the
    /// child's standard input the socket the `file` plugin reads. Panics if called twice.
    pub fn attach<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        let end = self.child_end.lock().unwrap().take().expect("FakeMic::attach called twice (one child per FakeMic)");
        for (key, value) in self.env() {
            cmd.env(key, value);
        }
        cmd.stdin(Stdio::from(OwnedFd::from(end)))
    }

    /// Queues `samples` (interleaved, [`NATIVE_RATE`], the layout's channel count, in
    /// `[-1, 1]`) to be fed after what is already queued.
    pub fn play_samples(&self, samples: &[f32]) {
        let channels = usize::from(self.layout.channels());
        assert_eq!(samples.len() % channels, 0, "{} samples are not whole {channels}-channel frames", samples.len());
        self.feed.queue.lock().unwrap().extend(samples.iter().copied());
    }

    /// Queues a WAV file (any rate and channel count; converted with sox when it is not
    /// already in the native format) to be fed after what is already queued.
    pub fn play(&self, wav: &Path) {
        let (rate, channels) = self.native_format();
        let (spec, samples) = super::read_wav(wav);
        if spec.sample_rate == rate && spec.channels == channels {
            self.play_samples(&samples);
            return;
        }
        let n = self.converted.fetch_add(1, Ordering::Relaxed);
        let out = self.dir.join(format!("fake-mic-{n}.wav"));
        super::sox_convert(wav, &out, rate, channels, 32);
        self.play_samples(&super::read_wav(&out).1);
    }

    /// Waits until everything queued has been written to the socket (it may still be in the
    /// socket buffer, or in the child's ALSA and capture buffers). False on timeout.
    pub fn wait_played(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while !self.feed.queue.lock().unwrap().is_empty() {
            if Instant::now() > deadline || self.feed.broken.load(Ordering::Acquire) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        true
    }

    /// Frames written to the socket so far (silence included).
    pub fn frames_written(&self) -> u64 {
        self.feed.frames_written.load(Ordering::Relaxed)
    }

    /// Simulates unplugging: the device disappears from the ALSA configuration (the next open or
    /// device listing in the child no longer finds it) and the feed stops, so a stream that is
    /// open stalls: its callback waits in `read` and never returns. That is how Hearth notices
    /// (its stall timeout); a real USB removal would make ALSA report an error instead.
    /// Dropping the stalled stream blocks until [`replug`](Self::replug) (or the end of the
    /// `FakeMic`) feeds it again.
    pub fn unplug(&self) {
        self.feed.paused.store(true, Ordering::Release);
        write_config(&self.config, self.layout, false);
    }

    /// Undoes [`unplug`](Self::unplug): the device is listed again and the feed resumes. The
    /// first period of the resumed feed may go to the stalled stream, if it still exists.
    pub fn replug(&self) {
        write_config(&self.config, self.layout, true);
        self.feed.paused.store(false, Ordering::Release);
    }
}

impl Drop for FakeMic {
    fn drop(&mut self) {
        self.feed.stop.store(true, Ordering::Release);
        // Unblocks a write waiting for a reader that is not reading.
        let _ = self.writer_end.shutdown(std::net::Shutdown::Both);
        if let Some(feeder) = self.feeder.take() {
            let _ = feeder.join();
        }
    }
}

/// Writes the ALSA configuration, with the device (`present`) or without it (unplugged). The
/// file is replaced by a rename, so alsa-lib sees a new file and reloads it.
fn write_config(path: &Path, layout: Layout, present: bool) {
    let slave = match layout {
        Layout::Stereo => "slave.pcm { type null }".to_owned(),
        Layout::Mono => "slave.pcm {\n        type multi\n        slaves.a { pcm { type null } channels 1 }\n        \
                         bindings.0 { slave a channel 0 }\n    }"
            .to_owned(),
    };
    let body = if present {
        format!(
            "# Test-only ALSA configuration written by tests/support/alsa.rs: a capture device fed\n\
             # through standard input by the test. It replaces the system configuration.\n\
             pcm.{DEVICE} {{\n    type file\n    {slave}\n    file \"/dev/null\"\n    infile 0\n    \
             format \"raw\"\n    hint {{ show on description \"Hearth test microphone\" }}\n}}\n\
             pcm.!default \"{DEVICE}\"\n{DEFAULTS}"
        )
    } else {
        format!("# Test-only ALSA configuration: the test microphone is unplugged.\n{DEFAULTS}")
    };
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, body).unwrap_or_else(|e| panic!("write {}: {e}", tmp.display()));
    std::fs::rename(&tmp, path).unwrap_or_else(|e| panic!("rename {} to {}: {e}", tmp.display(), path.display()));
}

/// The feeder: 10 ms of audio per step, paced by the clock.
fn run_feeder(mut socket: UnixStream, feed: &Feed, channels: usize) {
    let step = Duration::from_secs_f64(STEP_FRAMES as f64 / f64::from(NATIVE_RATE));
    let mut samples = vec![0.0f32; STEP_FRAMES * channels];
    let mut bytes = Vec::with_capacity(samples.len() * 4);
    let mut next = Instant::now();
    while !feed.stop.load(Ordering::Acquire) {
        if !feed.paused.load(Ordering::Acquire) {
            {
                let mut queue = feed.queue.lock().unwrap();
                for s in samples.iter_mut() {
                    *s = queue.pop_front().unwrap_or(0.0);
                }
            }
            bytes.clear();
            bytes.extend(samples.iter().flat_map(|s| s.to_le_bytes()));
            if socket.write_all(&bytes).is_err() {
                feed.broken.store(true, Ordering::Release);
                return;
            }
            feed.frames_written.fetch_add(STEP_FRAMES as u64, Ordering::Relaxed);
        }
        next += step;
        let now = Instant::now();
        if now > next + MAX_LAG {
            next = now;
        } else if next > now {
            std::thread::sleep(next - now);
        }
    }
}

/// `SOL_SOCKET` options from <asm-generic/socket.h>, the values of x86, arm, aarch64 and riscv.
const SOL_SOCKET: i32 = 1;
/// Send buffer size; Linux doubles the value to leave room for its bookkeeping.
const SO_SNDBUF: i32 = 7;
/// Receive low-water mark: a blocking read returns only once it has min(mark, requested
/// bytes), so with a mark above any request every read fills its whole buffer.
const SO_RCVLOWAT: i32 = 18;

/// Bytes of the feeder's send buffer: about 0.1 s of 48 kHz stereo `f32` once Linux has counted
/// its bookkeeping, several 5 ms periods.
const SEND_BUFFER: i32 = 32 * 1024;

/// Sets an integer `SOL_SOCKET` option. std has no wrapper for these, hence the declaration.
fn set_socket_option(socket: &UnixStream, name: i32, value: i32) -> io::Result<()> {
    unsafe extern "C" {
        fn setsockopt(fd: i32, level: i32, name: i32, value: *const std::ffi::c_void, len: u32) -> i32;
    }
    // SAFETY: a valid socket descriptor and a pointer to an i32 that outlives the call, with
    // its size.
    let rc = unsafe {
        setsockopt(
            socket.as_raw_fd(),
            SOL_SOCKET,
            name,
            (&value as *const i32).cast(),
            std::mem::size_of::<i32>() as u32,
        )
    };
    if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

//! A fake speaker for tests on machines without a sound card: the real cpal/ALSA playback path,
//! with what was played handed back to the test.
//!
//! ALSA's `file` plugin over a `null` slave copies every period the child plays into a file;
//! here that file is a FIFO in the test's temporary folder, read by a thread of the test at the
//! pace of real time (10 ms of audio per 10 ms), so the child's playback takes as long as it
//! would on a loudspeaker (the `file` plugin's write blocks while the FIFO is full). Each time
//! the child closes its stream the reader sees the end of the FIFO: that is one *sound* (a
//! tone, an answer, a ring), kept as mono samples at [`RATE`] in [`FakeSpeaker::sounds`].
//!
//! Like the fake microphone it offers cpal any format, so cpal takes **48 kHz, `f32`, stereo**.
//! The FIFO holds what was played only on its way from the child to the test, in memory.
#![allow(dead_code)]

use std::ffi::OsString;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The ALSA PCM name (`[feedback] device = "hearth_test_speaker"`).
pub const DEVICE: &str = "hearth_test_speaker";
/// The rate cpal negotiates with the device.
pub const RATE: u32 = 48_000;
const CHANNELS: usize = 2;
/// Bytes per 10 ms (f32 stereo).
const STEP_BYTES: usize = 480 * CHANNELS * 4;

/// State shared with the reader thread.
#[derive(Default)]
struct Heard {
    /// Finished sounds, mono.
    sounds: Mutex<Vec<Vec<f32>>>,
    /// The sound being played now.
    current: Mutex<Vec<f32>>,
    stop: AtomicBool,
}

/// A speaker for a child process. See the [module docs](self).
pub struct FakeSpeaker {
    fifo: PathBuf,
    config: PathBuf,
    heard: Arc<Heard>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl FakeSpeaker {
    /// Creates the FIFO and a stand-alone ALSA configuration in `dir` and starts the reader.
    pub fn new(dir: &Path) -> FakeSpeaker {
        let fifo = dir.join("speaker.fifo");
        let c_path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo only creates a file.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0, "mkfifo {}", fifo.display());
        let config = dir.join("asoundrc-speaker");
        let mut speaker =
            FakeSpeaker { fifo: fifo.clone(), config: config.clone(), heard: Arc::default(), reader: None };
        std::fs::write(&config, format!("{}defaults.pcm.minperiodtime 5000\n", speaker.alsa_config())).unwrap();
        let heard = Arc::clone(&speaker.heard);
        let reader = std::thread::Builder::new().name("fake-speaker".into()).spawn(move || read_fifo(&fifo, &heard));
        speaker.reader = Some(reader.unwrap());
        speaker
    }

    /// The ALSA configuration lines that define the device (for a configuration of its own or
    /// one shared with the fake microphone).
    pub fn alsa_config(&self) -> String {
        format!(
            "pcm.{DEVICE} {{\n    type file\n    slave.pcm {{ type null }}\n    file \"{}\"\n    format \"raw\"\n    \
             hint {{ show on description \"Hearth test speaker\" }}\n}}\n",
            self.fifo.display()
        )
    }

    /// `ALSA_CONFIG_PATH` for a child that only plays (`hearth say`).
    pub fn env(&self) -> Vec<(&'static str, OsString)> {
        vec![("ALSA_CONFIG_PATH", self.config.clone().into_os_string())]
    }

    /// The sounds played and finished so far, each trimmed of the silence around it.
    pub fn sounds(&self) -> Vec<Vec<f32>> {
        self.heard.sounds.lock().unwrap().iter().map(|s| trim(s).to_vec()).filter(|s| !s.is_empty()).collect()
    }

    /// Waits until at least `n` non-silent sounds have been played, at most `timeout`.
    pub fn wait_sounds(&self, n: usize, timeout: Duration) -> Vec<Vec<f32>> {
        let deadline = Instant::now() + timeout;
        loop {
            let sounds = self.sounds();
            if sounds.len() >= n || Instant::now() > deadline {
                return sounds;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for FakeSpeaker {
    fn drop(&mut self) {
        self.heard.stop.store(true, Ordering::Release);
        // Unblocks a reader waiting in open(): a writer that opens and closes at once.
        let _ = std::fs::OpenOptions::new().write(true).custom_flags_nonblock().open(&self.fifo);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

trait NonBlock {
    fn custom_flags_nonblock(&mut self) -> &mut Self;
}

impl NonBlock for std::fs::OpenOptions {
    fn custom_flags_nonblock(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.custom_flags(libc::O_NONBLOCK)
    }
}

/// `samples` without the near-silence at either end.
pub fn trim(samples: &[f32]) -> &[f32] {
    let loud = |s: &f32| s.abs() > 0.01;
    let Some(first) = samples.iter().position(loud) else { return &[] };
    let last = samples.iter().rposition(loud).unwrap_or(first);
    &samples[first..=last]
}

/// Seconds of audio in `samples` at [`RATE`].
pub fn secs(samples: &[f32]) -> f64 {
    samples.len() as f64 / f64::from(RATE)
}

/// The reader: one FIFO open per sound, read at real-time pace until the writer closes it.
fn read_fifo(fifo: &Path, heard: &Heard) {
    let step = Duration::from_millis(10);
    let mut buf = vec![0u8; STEP_BYTES];
    while !heard.stop.load(Ordering::Acquire) {
        let Ok(mut file) = std::fs::File::open(fifo) else { return };
        // A small pipe keeps the child's playback close to real time (F_SETPIPE_SZ = 1031).
        // SAFETY: fcntl on an open descriptor with an integer argument.
        unsafe { libc::fcntl(file.as_raw_fd(), 1031, 4096) };
        let mut next = Instant::now();
        let mut pending: Vec<u8> = Vec::new();
        loop {
            let n = match file.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            pending.extend_from_slice(&buf[..n]);
            let whole = pending.len() / (CHANNELS * 4) * (CHANNELS * 4);
            let mono: Vec<f32> = pending[..whole]
                .chunks_exact(CHANNELS * 4)
                .map(|f| {
                    let l = f32::from_le_bytes([f[0], f[1], f[2], f[3]]);
                    let r = f32::from_le_bytes([f[4], f[5], f[6], f[7]]);
                    (l + r) / 2.0
                })
                .collect();
            pending.drain(..whole);
            heard.current.lock().unwrap().extend(mono);
            next += step.mul_f64(n as f64 / STEP_BYTES as f64);
            if let Some(wait) = next.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            } else if Instant::now() - next > Duration::from_millis(100) {
                next = Instant::now();
            }
        }
        let sound = std::mem::take(&mut *heard.current.lock().unwrap());
        heard.sounds.lock().unwrap().push(sound);
    }
}

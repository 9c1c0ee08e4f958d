//! A microphone that survives being unplugged: [`LiveMicrophone`] reopens its device by name
//! when capture fails or stalls, and keeps handing out (silent) blocks in real time meanwhile.

use std::time::{Duration, Instant};

use super::{AudioError, Microphone, SAMPLE_RATE, Source};

/// How long to wait between attempts to reopen a lost device.
const RETRY_INTERVAL: Duration = Duration::from_secs(1);
/// How long without audio before a [`LiveMicrophone`]'s device counts as lost. Shorter than a
/// bare [`Microphone`]'s 5 s because every read waits that long before the loss is noticed,
/// and the caller checks for mute and shutdown between reads.
const LIVE_STALL_TIMEOUT: Duration = Duration::from_secs(2);
/// How far behind the clock silent blocks may fall (because the caller was busy) before the
/// pacing restarts from now instead of catching up in a burst.
const MAX_SILENCE_LAG: Duration = Duration::from_millis(250);

/// A capture device that [`LiveMicrophone`] can drop and reopen. Implemented by
/// [`Microphone`]; tests implement it to simulate devices that fail and come back.
pub trait CaptureDevice: Source + Send + 'static {
    /// Callbacks whose audio was dropped because reading fell behind (see
    /// [`Microphone::overruns`]).
    fn overruns(&self) -> u64;

    /// How long a read waits for audio before reporting the device as stalled.
    fn set_stall_timeout(&mut self, timeout: Duration);
}

impl CaptureDevice for Microphone {
    fn overruns(&self) -> u64 {
        Microphone::overruns(self)
    }

    fn set_stall_timeout(&mut self, timeout: Duration) {
        Microphone::set_stall_timeout(self, timeout);
    }
}

/// Opens a [`CaptureDevice`] by name.
type Opener<D> = Box<dyn FnMut(&str) -> Result<D, AudioError> + Send>;

/// Where the device is.
enum State<D> {
    /// Capturing.
    Live(D),
    /// Lost; reopening is tried at `next_attempt`. Silent blocks are paced by `next_block`.
    Lost { next_attempt: Instant, next_block: Instant },
}

/// A microphone that is recovered when it is unplugged and plugged back, without restarting.
///
/// Implements [`Source`]. While the device works, reads are those of the device. When capture
/// fails (the audio system reports an error, as on USB removal) or stalls (no audio for 2 s),
/// it logs one warning, releases the device and tries to reopen it by the same name every
/// second. Meanwhile [`read`](Source::read) fills blocks with **zeros, paced in real time**:
/// the pipeline's loop keeps running at its usual rhythm (checking mute and shutdown between
/// blocks, letting the endpointer see silence) instead of blocking for as long as the
/// microphone is away, and no caller needs a separate "no device" path. The blocks missed while
/// a stall was being detected are not made up. When the device opens again it logs that the
/// microphone is back, and reads continue from it.
///
/// A failed device is released on a helper thread: a driver stuck in a call cannot block the
/// pipeline. Its capture ring is wiped as usual once the release completes.
pub struct LiveMicrophone<D: CaptureDevice = Microphone> {
    /// The name the device was asked for, used to reopen it.
    name: String,
    /// Opens the device ([`Microphone::open`] outside tests).
    opener: Opener<D>,
    /// The open device, or when to try reopening it.
    state: State<D>,
    /// Times the device was reopened after a loss.
    reconnects: u64,
    /// Overruns of device instances already released.
    past_overruns: u64,
    /// Overruns already logged.
    reported_overruns: u64,
    /// Set by the first read.
    reading: bool,
    /// Passed on to every device instance.
    stall_timeout: Duration,
    /// Time between attempts to reopen.
    retry_interval: Duration,
}

impl LiveMicrophone {
    /// Opens the input device called `name` as [`Microphone::open`] does. This first open must
    /// succeed: it fails with the same message, listing the available devices, when there is no
    /// such device. Later losses are recovered.
    pub fn open(name: &str) -> Result<Self, AudioError> {
        Self::with_opener(name, Microphone::open)
    }
}

impl<D: CaptureDevice> LiveMicrophone<D> {
    /// A live microphone whose device is opened (and reopened) by `opener`. The first open
    /// must succeed.
    pub fn with_opener(
        name: &str,
        mut opener: impl FnMut(&str) -> Result<D, AudioError> + Send + 'static,
    ) -> Result<Self, AudioError> {
        let mut device = opener(name)?;
        device.set_stall_timeout(LIVE_STALL_TIMEOUT);
        Ok(Self {
            name: name.to_owned(),
            opener: Box::new(opener),
            state: State::Live(device),
            reconnects: 0,
            past_overruns: 0,
            reported_overruns: 0,
            reading: false,
            stall_timeout: LIVE_STALL_TIMEOUT,
            retry_interval: RETRY_INTERVAL,
        })
    }

    /// How many times the device was lost and opened again.
    pub fn reconnects(&self) -> u64 {
        self.reconnects
    }

    /// Overruns (audio dropped because reading fell behind), summed over every instance of
    /// the device since this microphone was opened.
    pub fn overruns(&self) -> u64 {
        let current = match &self.state {
            State::Live(device) => device.overruns(),
            State::Lost { .. } => 0,
        };
        self.past_overruns + current
    }

    /// Whether the device is currently capturing (false while it is lost).
    pub fn is_connected(&self) -> bool {
        matches!(self.state, State::Live(_))
    }

    /// How long without audio before the device counts as lost (default 2 s).
    pub fn set_stall_timeout(&mut self, timeout: Duration) {
        self.stall_timeout = timeout;
        if let State::Live(device) = &mut self.state {
            device.set_stall_timeout(timeout);
        }
    }

    /// Time between attempts to reopen a lost device (default 1 s).
    pub fn set_retry_interval(&mut self, interval: Duration) {
        self.retry_interval = interval;
    }

    /// Releases the failed device and switches to retrying, the first attempt one interval
    /// from now.
    fn lose(&mut self, error: &AudioError) {
        let now = Instant::now();
        let lost = State::Lost { next_attempt: now + self.retry_interval, next_block: now };
        if let State::Live(device) = std::mem::replace(&mut self.state, lost) {
            self.past_overruns += device.overruns();
            release(device);
        }
        let reason = match error {
            AudioError::Stream { detail, .. } => detail.as_str(),
            _ => "capture failed",
        };
        tracing::warn!(
            "microphone {} lost: {reason}; retrying every {} s",
            self.name,
            self.retry_interval.as_secs_f32()
        );
    }

    /// Tries to reopen the device if an attempt is due. True when it is back.
    fn try_reopen(&mut self) -> bool {
        let State::Lost { next_attempt, .. } = &mut self.state else {
            return true;
        };
        let now = Instant::now();
        if now < *next_attempt {
            return false;
        }
        *next_attempt = now + self.retry_interval;
        match (self.opener)(&self.name) {
            Ok(mut device) => {
                device.set_stall_timeout(self.stall_timeout);
                self.state = State::Live(device);
                self.reconnects += 1;
                tracing::info!("microphone {} is back", self.name);
                true
            }
            Err(e) => {
                tracing::debug!("microphone {} is still unavailable: {e}", self.name);
                false
            }
        }
    }

    /// Fills `block` with zeros, returning when a live microphone would have delivered it.
    fn silent_block(&mut self, block: &mut [f32]) -> usize {
        block.fill(0.0);
        if let State::Lost { next_block, .. } = &mut self.state {
            let duration = Duration::from_secs_f64(block.len() as f64 / f64::from(SAMPLE_RATE));
            let now = Instant::now();
            if now > *next_block + MAX_SILENCE_LAG {
                *next_block = now;
            }
            *next_block += duration;
            if *next_block > now {
                std::thread::sleep(*next_block - now);
            }
        }
        block.len()
    }
}

impl<D: CaptureDevice> Source for LiveMicrophone<D> {
    fn read(&mut self, block: &mut [f32]) -> Result<usize, AudioError> {
        if !self.try_reopen() {
            return Ok(self.silent_block(block));
        }
        let State::Live(device) = &mut self.state else {
            unreachable!("try_reopen returned true, so the device is live");
        };
        match device.read(block) {
            Ok(n) => {
                let overruns = self.past_overruns + device.overruns();
                // What overflowed before the first read (the caller was still starting up) is
                // not a fault of the pipeline.
                if !self.reading {
                    self.reading = true;
                    self.reported_overruns = overruns;
                }
                if overruns > self.reported_overruns {
                    tracing::warn!(
                        total = overruns,
                        "microphone {}: audio was dropped because processing fell behind (overrun)",
                        self.name
                    );
                    self.reported_overruns = overruns;
                }
                Ok(n)
            }
            Err(e @ AudioError::Stream { .. }) => {
                self.lose(&e);
                Ok(self.silent_block(block))
            }
            Err(e) => Err(e),
        }
    }

    fn describe(&self) -> String {
        format!("microphone \"{}\"", self.name)
    }
}

/// Drops a failed device on a helper thread, so that a stream stuck in the audio system cannot
/// block the caller. If no thread can be started, drops it here.
fn release<D: CaptureDevice>(device: D) {
    if let Err(e) = std::thread::Builder::new().name("mic-release".into()).spawn(move || drop(device)) {
        tracing::debug!("cannot start a thread to release the microphone ({e}); releasing it here");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A pretend USB port shared by the test and the devices opened from it.
    #[derive(Default)]
    struct Port {
        /// Whether a device is plugged in.
        plugged: bool,
        /// Bumped on every unplug: devices opened before fail from then on.
        generation: u32,
        /// Open attempts, successful or not.
        attempts: u32,
    }

    /// A device that fills blocks with a value telling which plug-in it came from.
    struct FakeDevice {
        port: Arc<Mutex<Port>>,
        generation: u32,
        stall_timeout: Duration,
    }

    impl FakeDevice {
        fn value(generation: u32) -> f32 {
            0.25 * (generation + 1) as f32
        }
    }

    impl Source for FakeDevice {
        fn read(&mut self, block: &mut [f32]) -> Result<usize, AudioError> {
            if self.port.lock().unwrap().generation != self.generation {
                return Err(AudioError::Stream { device: "fake".into(), detail: "device unplugged".into() });
            }
            block.fill(Self::value(self.generation));
            Ok(block.len())
        }

        fn describe(&self) -> String {
            "fake".into()
        }
    }

    impl CaptureDevice for FakeDevice {
        fn overruns(&self) -> u64 {
            3
        }

        fn set_stall_timeout(&mut self, timeout: Duration) {
            self.stall_timeout = timeout;
        }
    }

    fn port() -> Arc<Mutex<Port>> {
        Arc::new(Mutex::new(Port { plugged: true, ..Port::default() }))
    }

    fn live(port: &Arc<Mutex<Port>>) -> Result<LiveMicrophone<FakeDevice>, AudioError> {
        let port = Arc::clone(port);
        LiveMicrophone::with_opener("usb mic", move |name| {
            let mut p = port.lock().unwrap();
            p.attempts += 1;
            if !p.plugged {
                return Err(AudioError::UnknownDevice { name: name.to_owned(), available: vec!["null".into()] });
            }
            Ok(FakeDevice { port: Arc::clone(&port), generation: p.generation, stall_timeout: Duration::ZERO })
        })
    }

    fn unplug(port: &Mutex<Port>) {
        let mut p = port.lock().unwrap();
        p.plugged = false;
        p.generation += 1;
    }

    /// 10 ms blocks keep the test short.
    const BLOCK: usize = 160;

    #[test]
    fn unplugged_device_is_reopened_and_silence_fills_the_gap() {
        let port = port();
        let mut mic = live(&port).unwrap();
        mic.set_retry_interval(Duration::from_millis(30));
        let mut block = [1.0f32; BLOCK];

        assert_eq!(mic.read(&mut block).unwrap(), BLOCK);
        assert!(block.iter().all(|&s| s == FakeDevice::value(0)));
        assert!(mic.is_connected());

        unplug(&port);
        block.fill(1.0);
        assert_eq!(mic.read(&mut block).unwrap(), BLOCK, "the loss is reported as silence, not an error");
        assert!(block.iter().all(|&s| s == 0.0));
        assert!(!mic.is_connected());
        assert_eq!(mic.reconnects(), 0);
        assert_eq!(mic.overruns(), 3, "the lost device's overruns are kept");

        // Gone for a while: every read is silence, and reopening is tried every 30 ms, not at
        // every read.
        let attempts_before = port.lock().unwrap().attempts;
        let start = Instant::now();
        for _ in 0..10 {
            block.fill(1.0);
            assert_eq!(mic.read(&mut block).unwrap(), BLOCK);
            assert!(block.iter().all(|&s| s == 0.0));
        }
        let attempts = port.lock().unwrap().attempts - attempts_before;
        let most = start.elapsed().as_millis() / 30 + 1;
        assert!(attempts >= 2 && u128::from(attempts) <= most, "{attempts} attempts, at most {most} expected");

        port.lock().unwrap().plugged = true;
        let mut back = false;
        for _ in 0..10 {
            mic.read(&mut block).unwrap();
            if block[0] != 0.0 {
                back = true;
                break;
            }
        }
        assert!(back, "the device was not reopened within 100 ms of being plugged back");
        assert!(block.iter().all(|&s| s == FakeDevice::value(1)), "audio comes from the new device");
        assert!(mic.is_connected());
        assert_eq!(mic.reconnects(), 1);
        assert_eq!(mic.overruns(), 6, "overruns are summed over both device instances");
    }

    #[test]
    fn silence_while_unplugged_is_paced_in_real_time() {
        let port = port();
        let mut mic = live(&port).unwrap();
        unplug(&port);
        let mut block = [0.0f32; BLOCK];
        let start = Instant::now();
        for _ in 0..20 {
            mic.read(&mut block).unwrap();
        }
        // 20 blocks of 10 ms.
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(195), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");
        // One attempt at most: the default retry interval is 1 s.
        assert_eq!(port.lock().unwrap().attempts, 1);
    }

    #[test]
    fn first_open_must_succeed() {
        let port = port();
        port.lock().unwrap().plugged = false;
        let msg = live(&port).err().expect("no device at start is an error").to_string();
        assert!(msg.contains("\"usb mic\"") && msg.contains("Available input devices: \"null\""), "{msg}");
    }

    #[test]
    fn stall_timeout_reaches_every_device_instance() {
        let port = port();
        let mut mic = live(&port).unwrap();
        let State::Live(device) = &mic.state else { panic!("not live") };
        assert_eq!(device.stall_timeout, LIVE_STALL_TIMEOUT);
        mic.set_stall_timeout(Duration::from_millis(700));
        mic.set_retry_interval(Duration::ZERO);
        let State::Live(device) = &mic.state else { panic!("not live") };
        assert_eq!(device.stall_timeout, Duration::from_millis(700));
        unplug(&port);
        port.lock().unwrap().plugged = true;
        let mut block = [0.0f32; BLOCK];
        mic.read(&mut block).unwrap();
        mic.read(&mut block).unwrap();
        let State::Live(device) = &mic.state else { panic!("not reopened") };
        assert_eq!(device.stall_timeout, Duration::from_millis(700));
    }

    #[test]
    fn other_errors_are_passed_on() {
        struct Broken;
        impl Source for Broken {
            fn read(&mut self, _: &mut [f32]) -> Result<usize, AudioError> {
                Err(AudioError::Resample { input_rate: 48_000, detail: "broken".into() })
            }
            fn describe(&self) -> String {
                "broken".into()
            }
        }
        impl CaptureDevice for Broken {
            fn overruns(&self) -> u64 {
                0
            }
            fn set_stall_timeout(&mut self, _: Duration) {}
        }
        let mut mic = LiveMicrophone::with_opener("broken", |_| Ok(Broken)).unwrap();
        let err = mic.read(&mut [0.0; BLOCK]).unwrap_err();
        assert!(matches!(err, AudioError::Resample { .. }), "{err}");
        assert!(mic.is_connected());
        assert_eq!(mic.describe(), "microphone \"broken\"");
    }

    #[test]
    fn live_microphone_can_move_to_another_thread() {
        fn assert_send<T: Send>() {}
        assert_send::<LiveMicrophone>();
    }
}

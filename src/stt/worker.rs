//! The speech-to-text worker: one thread that owns the [`Transcriber`] (and so the whisper
//! state), fed through a bounded queue so callers never wait on whisper to hand over a clip.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;

use zeroize::Zeroize;

use super::{SttError, Transcriber, Transcript};
use crate::audio::Samples;

/// Clips that may wait while one is being transcribed. One is enough for a voice assistant: a
/// person cannot say two commands faster than whisper transcribes one; a third is refused.
pub const QUEUE_CAPACITY: usize = 1;

/// A clip and where to send its transcript.
struct Job {
    /// 16 kHz mono audio; zeroized by the worker as soon as it is transcribed.
    audio: Samples,
    /// Reply channel for this clip.
    reply: SyncSender<Result<Transcript, SttError>>,
}

/// Handle to the worker thread. Dropping it closes the queue and joins the thread.
pub struct SttWorker {
    /// Queue into the worker; `None` once shut down.
    jobs: Option<SyncSender<Job>>,
    /// The worker thread.
    thread: Option<JoinHandle<()>>,
}

/// A transcript that will arrive.
pub struct Pending {
    /// Receives exactly one result.
    reply: Receiver<Result<Transcript, SttError>>,
}

impl Pending {
    /// Waits for the transcript.
    pub fn wait(self) -> Result<Transcript, SttError> {
        self.reply.recv().unwrap_or(Err(SttError::WorkerGone))
    }
}

impl SttWorker {
    /// Starts the worker thread, which takes ownership of the transcriber.
    pub fn spawn(transcriber: Transcriber) -> Result<Self, SttError> {
        Self::spawn_inspected(transcriber, |_| {})
    }

    /// [`spawn`](Self::spawn) with a hook that sees each clip's buffer right after it has been
    /// wiped and before it is freed: lets tests prove that no transcribed audio is left behind.
    pub fn spawn_inspected(
        mut transcriber: Transcriber,
        inspect: impl Fn(&[f32]) + Send + 'static,
    ) -> Result<Self, SttError> {
        let (jobs, queue) = sync_channel::<Job>(QUEUE_CAPACITY);
        let thread = std::thread::Builder::new()
            .name("stt".into())
            .spawn(move || {
                for mut job in queue {
                    let result = transcriber.transcribe(&job.audio);
                    // Wiped in place first (volatile writes, length kept) so the hook sees the
                    // very storage that held the clip; dropping it wipes the capacity again.
                    job.audio[..].zeroize();
                    inspect(&job.audio);
                    job.audio.zeroize();
                    // The caller may have stopped waiting; nothing to do then.
                    let _ = job.reply.send(result);
                }
            })
            .map_err(SttError::Thread)?;
        Ok(Self { jobs: Some(jobs), thread: Some(thread) })
    }

    /// Queues a clip, waiting for room if the queue is full (for files and the CLI).
    pub fn submit(&self, audio: Samples) -> Result<Pending, SttError> {
        let (reply, rx) = sync_channel(1);
        let jobs = self.jobs.as_ref().ok_or(SttError::WorkerGone)?;
        jobs.send(Job { audio, reply }).map_err(|mut e| {
            e.0.audio.zeroize();
            SttError::WorkerGone
        })?;
        Ok(Pending { reply: rx })
    }

    /// Queues a clip without waiting; when the queue is full the clip is wiped and `Ok(None)`
    /// returned so the caller can count it (for live capture, which must never block).
    pub fn try_submit(&self, audio: Samples) -> Result<Option<Pending>, SttError> {
        let (reply, rx) = sync_channel(1);
        let jobs = self.jobs.as_ref().ok_or(SttError::WorkerGone)?;
        match jobs.try_send(Job { audio, reply }) {
            Ok(()) => Ok(Some(Pending { reply: rx })),
            Err(TrySendError::Full(mut job)) => {
                job.audio.zeroize();
                Ok(None)
            }
            Err(TrySendError::Disconnected(mut job)) => {
                job.audio.zeroize();
                Err(SttError::WorkerGone)
            }
        }
    }
}

impl Drop for SttWorker {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

//! The recording sink the media server gives a `Bridge`: a shared slot holding the file recorder,
//! so that stopping a recording mid-call can take the recorder out on the media task (cheap) and
//! finish it (flush + SHA-256 of the whole file) on the blocking pool. When the call closes with
//! the recorder still in place, the `Bridge` finishes it itself — already on the blocking pool.
//! Must never: block the media task on more than one buffered write, or lose frames silently
//! (a write after the recorder was taken out is an error the `Bridge` reports).

use std::fs::File;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use media::bridge::RecordingSink;
use media::error::AudioError;
use media::recorder::{RecordingInfo, StereoRecorder};

type Slot = Arc<Mutex<Option<StereoRecorder<File>>>>;

/// The media server's side of a call's recording.
pub(crate) struct Recording {
    pub path: PathBuf,
    slot: Slot,
}

/// What the `Bridge` holds.
struct SharedSink(Slot);

fn lock(slot: &Slot) -> MutexGuard<'_, Option<StereoRecorder<File>>> {
    // A panic while holding the lock cannot leave the recorder worse than a crash would; keep going.
    slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Recording {
    /// The recording and the sink to hand to `Bridge::start_recording`.
    pub fn new(path: PathBuf, recorder: StereoRecorder<File>) -> (Self, Box<dyn RecordingSink>) {
        let slot = Arc::new(Mutex::new(Some(recorder)));
        (Self { path, slot: slot.clone() }, Box::new(SharedSink(slot)))
    }

    /// Takes the recorder out (the sink then refuses frames); finish it with [`finish`].
    pub fn take(self) -> Option<(PathBuf, StereoRecorder<File>)> {
        let recorder = lock(&self.slot).take();
        recorder.map(|r| (self.path, r))
    }
}

/// Flushes, fixes the header and hashes: blocking, for the blocking pool.
pub(crate) fn finish(recorder: StereoRecorder<File>) -> Result<RecordingInfo, AudioError> {
    recorder.close().map(|(info, _)| info)
}

impl RecordingSink for SharedSink {
    fn write_frame(&mut self, customer: &[i16], agent: &[i16]) -> Result<(), AudioError> {
        lock(&self.0).as_mut().ok_or(AudioError::Closed)?.write(customer, agent)
    }

    fn set_paused(&mut self, paused: bool) {
        if let Some(r) = lock(&self.0).as_mut() {
            if paused { r.pause() } else { r.resume() }
        }
    }

    fn finish(self: Box<Self>) -> Result<RecordingInfo, AudioError> {
        let recorder = lock(&self.0).take().ok_or(AudioError::Closed)?;
        finish(recorder)
    }
}

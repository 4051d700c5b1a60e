//! How many staff lists are read at once. Reading a list holds its file (up to
//! `BULK_UPLOAD_MAX_BYTES`) and its rows in memory and keeps a core busy, so at most
//! `BULK_UPLOAD_CONCURRENCY` are read at once and `BULK_UPLOAD_QUEUE` more may wait;
//! beyond that an upload answers `503 service_busy` with `Retry-After` before its body
//! is read, as the password hashing queue does. A burst of uploads therefore costs a
//! bounded amount of memory and never crowds out other requests.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::AppError;

/// How long a client refused by a full queue should wait: a list of 10,000 rows is read
/// in well under a second.
const BUSY_RETRY_AFTER: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct UploadSlots {
    /// One permit per upload admitted: reading or waiting to.
    admitted: Arc<Semaphore>,
    /// One permit per upload being read.
    reading: Arc<Semaphore>,
}

/// An upload's place: its body may be received; [`Admitted::read`] waits its turn.
pub struct Admitted {
    reading: Arc<Semaphore>,
    place: OwnedSemaphorePermit,
}

/// An upload's turn to be read; the next one's starts when this is dropped.
pub struct Reading {
    _place: OwnedSemaphorePermit,
    _turn: OwnedSemaphorePermit,
}

impl UploadSlots {
    pub fn new(concurrency: usize, queue: usize) -> Self {
        UploadSlots {
            admitted: Arc::new(Semaphore::new(concurrency + queue)),
            reading: Arc::new(Semaphore::new(concurrency)),
        }
    }

    /// How many more uploads may be admitted now (tests read it).
    pub fn available(&self) -> usize {
        self.admitted.available_permits()
    }

    /// A place for an upload, or `503 service_busy` when every place is taken.
    pub fn admit(&self) -> Result<Admitted, AppError> {
        let place = self
            .admitted
            .clone()
            .try_acquire_owned()
            .map_err(|_| AppError::busy(BUSY_RETRY_AFTER))?;
        Ok(Admitted {
            reading: self.reading.clone(),
            place,
        })
    }
}

impl Admitted {
    /// Waits until fewer than `concurrency` lists are being read.
    pub async fn read(self) -> Result<Reading, AppError> {
        let turn = self
            .reading
            .acquire_owned()
            .await
            .map_err(|_| AppError::Internal("upload slots closed".into()))?;
        Ok(Reading {
            _place: self.place,
            _turn: turn,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn beyond_the_readers_and_the_queue_an_upload_is_refused_as_busy() {
        let slots = UploadSlots::new(1, 1);
        let first = slots.admit().unwrap();
        let second = slots.admit().unwrap();
        let refused = slots.admit().err().expect("full");
        assert_eq!(refused.code(), "service_busy");
        let reading = first.read().await.unwrap();
        let waiting = tokio::spawn(second.read());
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "one list is read at a time");
        drop(reading);
        waiting.await.unwrap().unwrap();
        assert!(slots.admit().is_ok(), "places free again");
    }
}

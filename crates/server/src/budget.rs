//! Bounds shared by all requests: the bytes requests may hold while they are decoded
//! (`limits.inflight_bytes_max`), and the CPU-heavy work that runs off the serving threads.
//!
//! Each request bounds its own body (`body_bytes_max`, `body_decoded_bytes_max`), but a thousand
//! requests each within their bounds can still hold gigabytes together. Before a request reads,
//! decompresses or decodes, it reserves what that step will hold from one [`InflightBudget`];
//! when the budget is spent it gets 503 with `Retry-After` and nothing of it is decoded. The
//! reservation is given back when the request is answered.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;

/// The budget counts in units of this many bytes (a semaphore takes at most `u32` permits at a
/// time; in KiB one reservation can be up to 4 TiB).
const UNIT_BYTES: usize = 1024;

/// How long a client is asked to wait when the budget is spent.
pub const BUDGET_RETRY_AFTER: Duration = Duration::from_secs(1);

/// Bytes that requests may hold at once while they are decoded. Cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct InflightBudget {
    units: Arc<Semaphore>,
    bytes_max: usize,
}

/// Bytes reserved from an [`InflightBudget`]; given back when dropped.
#[derive(Debug)]
pub struct Reservation {
    budget: InflightBudget,
    permit: Option<OwnedSemaphorePermit>,
}

impl InflightBudget {
    /// A budget of `bytes_max` bytes.
    pub fn new(bytes_max: usize) -> Self {
        Self {
            units: Arc::new(Semaphore::new(bytes_max / UNIT_BYTES)),
            bytes_max,
        }
    }

    /// Bytes not reserved now.
    pub fn available_bytes(&self) -> usize {
        self.units.available_permits() * UNIT_BYTES
    }

    /// An empty reservation, to grow as a request learns what it holds.
    pub fn empty(&self) -> Reservation {
        Reservation {
            budget: self.clone(),
            permit: None,
        }
    }

    /// Reserves `bytes`, or refuses with 503 `inflight_bytes_max` (413 when `bytes` is more
    /// than the whole budget, which waiting cannot mend).
    pub fn try_reserve(&self, bytes: usize) -> Result<Reservation, ApiError> {
        let mut reservation = self.empty();
        reservation.grow(bytes)?;
        Ok(reservation)
    }
}

impl Reservation {
    /// Adds `bytes` to the reservation, or refuses as [`InflightBudget::try_reserve`] does
    /// (what was reserved before stays reserved).
    pub fn grow(&mut self, bytes: usize) -> Result<(), ApiError> {
        let budget = &self.budget;
        let units = bytes.div_ceil(UNIT_BYTES);
        if units == 0 {
            return Ok(());
        }
        let refused = |status: StatusCode, retry: Option<Duration>| {
            ApiError::limit(
                status,
                "inflight_bytes_max",
                format!(
                    "requests being decoded hold more than inflight_bytes_max ({} bytes); this one needs {bytes} more",
                    budget.bytes_max
                ),
                retry,
            )
        };
        let Ok(units) = u32::try_from(units) else {
            return Err(refused(StatusCode::PAYLOAD_TOO_LARGE, None));
        };
        if units as usize * UNIT_BYTES > budget.bytes_max {
            return Err(refused(StatusCode::PAYLOAD_TOO_LARGE, None));
        }
        let permit = Arc::clone(&budget.units)
            .try_acquire_many_owned(units)
            .map_err(|_| refused(StatusCode::SERVICE_UNAVAILABLE, Some(BUDGET_RETRY_AFTER)))?;
        match &mut self.permit {
            Some(held) => held.merge(permit),
            None => self.permit = Some(permit),
        }
        Ok(())
    }

    /// Moves the reserved bytes into a new reservation, leaving this one empty (to hand them to
    /// a blocking task and back).
    pub fn take(&mut self) -> Reservation {
        Reservation {
            budget: self.budget.clone(),
            permit: self.permit.take(),
        }
    }

    /// Bytes reserved.
    pub fn bytes(&self) -> usize {
        self.permit
            .as_ref()
            .map_or(0, |permit| permit.num_permits() * UNIT_BYTES)
    }
}

/// Runs `work` on tokio's blocking pool once one of `permits` is free, so that decoding,
/// mapping and rendering never hold a thread that serves requests, and at most as many of them
/// run at once as there are permits (`limits.cpu_tasks_max`). The permit travels with the work:
/// a request that times out while its work runs does not free the permit before the work ends.
pub async fn run_cpu<T: Send + 'static>(
    permits: &Arc<Semaphore>,
    work: impl FnOnce() -> T + Send + 'static,
) -> T {
    let permit = Arc::clone(permits)
        .acquire_owned()
        .await
        .expect("the CPU permits are never closed");
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        work()
    })
    .await
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_add_up_and_come_back() {
        let budget = InflightBudget::new(10 * UNIT_BYTES);
        let mut first = budget.try_reserve(3 * UNIT_BYTES).unwrap();
        first.grow(UNIT_BYTES + 1).unwrap();
        assert_eq!(first.bytes(), 5 * UNIT_BYTES);
        assert_eq!(budget.available_bytes(), 5 * UNIT_BYTES);
        let refused = budget.try_reserve(6 * UNIT_BYTES).unwrap_err();
        assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(refused.body.retry_after_s, Some(1));
        let never = budget.try_reserve(11 * UNIT_BYTES).unwrap_err();
        assert_eq!(never.status, StatusCode::PAYLOAD_TOO_LARGE);
        drop(first);
        assert_eq!(budget.available_bytes(), 10 * UNIT_BYTES);
    }
}

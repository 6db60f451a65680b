//! The messages that travel through the queues. Variants are versioned: never change one in
//! place; add a `V2` and keep reading `V1` until the queues drained.

use serde::{Deserialize, Serialize};

use crate::model::{AlertId, Channel, DeliveryId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Job {
    /// Plan the deliveries of an alert (as ranges of subscribers) and announce them.
    #[serde(rename = "fan_out.v1")]
    FanOutV1 { alert: AlertId },
    /// Send these planned deliveries of one alert, all of one channel and provider.
    #[serde(rename = "send_batch.v1")]
    SendBatchV1 {
        alert: AlertId,
        channel: Channel,
        deliveries: Vec<DeliveryId>,
    },
    /// Create the deliveries of this planned range of an alert's subscribers (one channel and
    /// provider), then send them as a batch (`store::ranges`).
    #[serde(rename = "send_range.v1")]
    SendRangeV1 {
        alert: AlertId,
        channel: Channel,
        range: i64,
    },
}

impl Job {
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a job always serialises")
    }

    /// Parses a message body; the error says what is wrong, for the dead-letter record.
    pub fn decode(payload: &[u8]) -> Result<Job, String> {
        serde_json::from_slice(payload).map_err(|e| format!("unreadable job: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_survives_the_round_trip() {
        let job = Job::SendBatchV1 {
            alert: AlertId::new(),
            channel: Channel::Sms,
            deliveries: vec![DeliveryId(1), DeliveryId(2)],
        };
        assert_eq!(Job::decode(&job.encode()).unwrap(), job);
    }

    #[test]
    fn a_range_job_reads_as_documented() {
        let alert = AlertId::new();
        let body =
            format!(r#"{{"type":"send_range.v1","alert":"{alert}","channel":"email","range":42}}"#);
        assert_eq!(
            Job::decode(body.as_bytes()).unwrap(),
            Job::SendRangeV1 {
                alert,
                channel: Channel::Email,
                range: 42
            }
        );
    }

    #[test]
    fn garbage_is_named_as_such() {
        let err = Job::decode(b"{\"type\":\"nope\"}").unwrap_err();
        assert!(err.starts_with("unreadable job"), "{err}");
    }
}

//! CloudEvents Kafka protocol binding, binary content mode: the event's attributes
//! travel as `ce_*` headers, the payload (protobuf) as the record value, and the
//! W3C `traceparent` as a plain header. [`InboundEvent::from_message`] is the
//! single place that reads these headers back.

use chrono::{DateTime, Utc};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};

/// `ce_specversion` value.
pub const SPEC_VERSION: &str = "1.0";
/// `content-type` of every IOP event.
pub const CONTENT_TYPE: &str = "application/protobuf";

/// Header names.
pub mod header {
    /// Event id (unique per event; consumers deduplicate on it).
    pub const ID: &str = "ce_id";
    /// Producer context, `/iop/<site>/<service>`.
    pub const SOURCE: &str = "ce_source";
    /// Full protobuf message name of the payload.
    pub const TYPE: &str = "ce_type";
    /// Always `1.0`.
    pub const SPEC_VERSION: &str = "ce_specversion";
    /// When the fact happened (RFC 3339).
    pub const TIME: &str = "ce_time";
    /// Aggregate the event is about (a patient id).
    pub const SUBJECT: &str = "ce_subject";
    /// Position of the event in its aggregate's history (CloudEvents `sequence`
    /// extension), 1, 2, 3, …
    pub const SEQUENCE: &str = "ce_sequence";
    /// Payload media type.
    pub const CONTENT_TYPE: &str = "content-type";
    /// W3C trace context.
    pub const TRACEPARENT: &str = "traceparent";
    /// Dead-letter: why the event could not be applied.
    pub const DLQ_REASON: &str = "iop_dlq_reason";
    /// Dead-letter: consumer that gave up.
    pub const DLQ_CONSUMER: &str = "iop_dlq_consumer";
    /// Dead-letter: original topic, partition and offset (`topic/partition/offset`).
    pub const DLQ_ORIGIN: &str = "iop_dlq_origin";
}

/// The attributes of an event to publish.
#[derive(Debug, Clone)]
pub struct OutboundAttributes<'a> {
    /// `ce_id`.
    pub id: &'a str,
    /// `ce_source`.
    pub source: &'a str,
    /// `ce_type`.
    pub event_type: &'a str,
    /// `ce_time`.
    pub time: DateTime<Utc>,
    /// `ce_subject`.
    pub subject: &'a str,
    /// `ce_sequence`.
    pub sequence: i64,
    /// `traceparent`, if the command was traced.
    pub traceparent: Option<&'a str>,
}

impl OutboundAttributes<'_> {
    /// The record headers for these attributes.
    pub fn headers(&self) -> OwnedHeaders {
        let time = self
            .time
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let sequence = self.sequence.to_string();
        let mut headers = OwnedHeaders::new_with_capacity(9)
            .insert(Header {
                key: header::SPEC_VERSION,
                value: Some(SPEC_VERSION),
            })
            .insert(Header {
                key: header::ID,
                value: Some(self.id),
            })
            .insert(Header {
                key: header::SOURCE,
                value: Some(self.source),
            })
            .insert(Header {
                key: header::TYPE,
                value: Some(self.event_type),
            })
            .insert(Header {
                key: header::TIME,
                value: Some(time.as_str()),
            })
            .insert(Header {
                key: header::SUBJECT,
                value: Some(self.subject),
            })
            .insert(Header {
                key: header::SEQUENCE,
                value: Some(sequence.as_str()),
            })
            .insert(Header {
                key: header::CONTENT_TYPE,
                value: Some(CONTENT_TYPE),
            });
        if let Some(tp) = self.traceparent {
            headers = headers.insert(Header {
                key: header::TRACEPARENT,
                value: Some(tp),
            });
        }
        headers
    }
}

/// A record that is not a well-formed IOP CloudEvent.
#[derive(Debug, thiserror::Error)]
pub enum MalformedEvent {
    /// A required attribute is missing.
    #[error("missing header {0}")]
    Missing(&'static str),
    /// An attribute has a value that does not parse.
    #[error("bad header {0}")]
    Bad(&'static str),
    /// The record has no value.
    #[error("empty payload")]
    EmptyPayload,
}

/// An event read from Kafka.
#[derive(Debug, Clone)]
pub struct InboundEvent {
    /// `ce_id`.
    pub id: String,
    /// `ce_type`.
    pub event_type: String,
    /// `ce_source`.
    pub source: String,
    /// `ce_time`.
    pub time: DateTime<Utc>,
    /// `ce_subject` (patient id), if present.
    pub subject: Option<String>,
    /// `ce_sequence`, if present.
    pub sequence: Option<i64>,
    /// `traceparent`, if present.
    pub traceparent: Option<String>,
    /// Protobuf payload.
    pub payload: Vec<u8>,
    /// Where it was read: topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
}

impl InboundEvent {
    /// Reads an event from a Kafka record.
    pub fn from_message<M: Message>(message: &M) -> Result<Self, MalformedEvent> {
        let mut id = None;
        let mut event_type = None;
        let mut source = None;
        let mut time = None;
        let mut subject = None;
        let mut sequence = None;
        let mut traceparent = None;
        let mut spec = None;
        if let Some(headers) = message.headers() {
            for h in headers.iter() {
                let Some(value) = h.value.and_then(|v| std::str::from_utf8(v).ok()) else {
                    continue;
                };
                match h.key {
                    header::ID => id = Some(value.to_owned()),
                    header::TYPE => event_type = Some(value.to_owned()),
                    header::SOURCE => source = Some(value.to_owned()),
                    header::TIME => time = Some(value.to_owned()),
                    header::SUBJECT => subject = Some(value.to_owned()),
                    header::SEQUENCE => sequence = Some(value.to_owned()),
                    header::TRACEPARENT => traceparent = Some(value.to_owned()),
                    header::SPEC_VERSION => spec = Some(value.to_owned()),
                    _ => {}
                }
            }
        }
        if spec.as_deref() != Some(SPEC_VERSION) {
            return Err(if spec.is_none() {
                MalformedEvent::Missing(header::SPEC_VERSION)
            } else {
                MalformedEvent::Bad(header::SPEC_VERSION)
            });
        }
        let id = id
            .filter(|v| !v.is_empty())
            .ok_or(MalformedEvent::Missing(header::ID))?;
        let event_type = event_type
            .filter(|v| !v.is_empty())
            .ok_or(MalformedEvent::Missing(header::TYPE))?;
        let source = source.ok_or(MalformedEvent::Missing(header::SOURCE))?;
        let time = time
            .ok_or(MalformedEvent::Missing(header::TIME))
            .and_then(|t| {
                DateTime::parse_from_rfc3339(&t).map_err(|_| MalformedEvent::Bad(header::TIME))
            })?
            .with_timezone(&Utc);
        let sequence = sequence
            .map(|s| {
                s.parse::<i64>()
                    .map_err(|_| MalformedEvent::Bad(header::SEQUENCE))
            })
            .transpose()?;
        let payload = message
            .payload()
            .map(<[u8]>::to_vec)
            .ok_or(MalformedEvent::EmptyPayload)?;
        Ok(Self {
            id,
            event_type,
            source,
            time,
            subject,
            sequence,
            traceparent,
            payload,
            topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use rdkafka::message::{OwnedMessage, Timestamp};

    use super::*;

    fn message(headers: Option<OwnedHeaders>, payload: Option<Vec<u8>>) -> OwnedMessage {
        OwnedMessage::new(
            payload,
            Some(b"p-1".to_vec()),
            "t".into(),
            Timestamp::NotAvailable,
            2,
            41,
            headers,
        )
    }

    #[test]
    fn headers_round_trip() {
        let time = Utc::now();
        let attrs = OutboundAttributes {
            id: "e-1",
            source: "/iop/local/admissions",
            event_type: "iop.admissions.events.v1.PatientAdmitted",
            time,
            subject: "p-1",
            sequence: 3,
            traceparent: Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        };
        let ev =
            InboundEvent::from_message(&message(Some(attrs.headers()), Some(vec![1, 2]))).unwrap();
        assert_eq!(ev.id, "e-1");
        assert_eq!(ev.event_type, "iop.admissions.events.v1.PatientAdmitted");
        assert_eq!(ev.source, "/iop/local/admissions");
        assert_eq!(ev.subject.as_deref(), Some("p-1"));
        assert_eq!(ev.sequence, Some(3));
        assert_eq!(ev.time.timestamp_micros(), time.timestamp_micros());
        assert_eq!(ev.traceparent.as_deref(), attrs.traceparent);
        assert_eq!((ev.partition, ev.offset, ev.payload), (2, 41, vec![1, 2]));
    }

    #[test]
    fn rejects_records_without_attributes() {
        let err =
            InboundEvent::from_message(&message(None, Some(b"garbage".to_vec()))).unwrap_err();
        assert!(matches!(err, MalformedEvent::Missing(header::SPEC_VERSION)));
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: header::SPEC_VERSION,
                value: Some("1.0"),
            })
            .insert(Header {
                key: header::ID,
                value: Some("x"),
            });
        let err = InboundEvent::from_message(&message(Some(headers), Some(vec![]))).unwrap_err();
        assert!(matches!(err, MalformedEvent::Missing(header::TYPE)));
    }
}

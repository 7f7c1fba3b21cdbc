//! One WAL record on disk: a checksummed frame around a site, a batch id and Arrow rows.
//!
//! ```text
//! frame:  body_len u32 | checksum(body) u32 | body
//! body:   seq u64 | appended_at_ms i64 | events u32 | site_len u16 | site
//!         | batch_id_len u16 | batch_id | Arrow IPC record batch message
//! ```
//! All integers are little-endian; the checksum is the first four bytes of the body's BLAKE3
//! hash (BLAKE3 is already in the tree for pseudonyms, and as fast as CRC32 on this data). The Arrow schema is the same for every record
//! ([`event_schema`]), so it is written once per process in memory, not per record: a record
//! holds only the batch message, which keeps small requests small on disk.

use std::io::Cursor;
use std::sync::{Arc, LazyLock};

use arrow::array::RecordBatch;
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::StreamWriter;
use heatlake_model::event_schema;

/// Bytes of a frame header (body length and checksum).
pub const FRAME_HEADER_BYTES: usize = 8;
/// The largest record body accepted when reading; a larger length in a frame header is damage,
/// not a record (the writer refuses bodies this large).
pub const RECORD_BODY_BYTES_MAX: usize = 512 << 20;
/// The longest site name or batch id a record holds.
pub const NAME_BYTES_MAX: usize = u16::MAX as usize;

/// A record as the WAL holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct WalRecord {
    /// Position in the WAL, from 1, without gaps.
    pub seq: u64,
    /// When it was appended, ms since the Unix epoch.
    pub appended_at_ms: i64,
    /// The site of every event in it.
    pub site: String,
    /// The sender's batch id, if any (retries of the same batch are not stored twice).
    pub batch_id: Option<String>,
    /// Number of events.
    pub events: u32,
    /// The events as an Arrow IPC record batch message of [`event_schema`].
    pub ipc: Vec<u8>,
}

/// The IPC stream prefix (the schema message) that every record's batch message continues.
static SCHEMA_MESSAGE: LazyLock<Vec<u8>> = LazyLock::new(|| {
    // The schema message alone: `into_inner` would also add the end-of-stream marker.
    StreamWriter::try_new(Vec::new(), &event_schema())
        .expect("the event schema encodes as IPC")
        .get_ref()
        .clone()
});

/// Encodes `batch` (rows of [`event_schema`]) as an IPC record batch message.
pub fn encode_events(batch: &RecordBatch) -> Result<Vec<u8>, arrow::error::ArrowError> {
    let mut writer = StreamWriter::try_new(Vec::new(), &event_schema())?;
    writer.write(batch)?;
    let bytes = writer.get_ref();
    debug_assert!(bytes.starts_with(&SCHEMA_MESSAGE));
    Ok(bytes[SCHEMA_MESSAGE.len()..].to_vec())
}

/// Decodes the events of a record.
pub fn decode_events(ipc: &[u8]) -> Result<RecordBatch, arrow::error::ArrowError> {
    let mut stream = Vec::with_capacity(SCHEMA_MESSAGE.len() + ipc.len());
    stream.extend_from_slice(&SCHEMA_MESSAGE);
    stream.extend_from_slice(ipc);
    let mut reader = StreamReader::try_new(Cursor::new(stream), None)?;
    let batch = reader.next().transpose()?.ok_or_else(|| {
        arrow::error::ArrowError::IpcError("a WAL record holds no record batch".into())
    })?;
    let schema: Arc<_> = event_schema();
    if batch.schema() != schema {
        return Err(arrow::error::ArrowError::SchemaError(
            "a WAL record's columns differ from the event schema".into(),
        ));
    }
    Ok(batch)
}

impl WalRecord {
    /// A record of no events that holds the place of records `heatlake salvage-wal` dropped, so
    /// that sequence numbers stay without gaps; it is read and skipped like any other.
    pub fn placeholder(seq: u64) -> Self {
        Self {
            seq,
            appended_at_ms: 0,
            site: String::new(),
            batch_id: None,
            events: 0,
            ipc: Vec::new(),
        }
    }

    /// Whether this is a [`WalRecord::placeholder`] (a real record always holds an Arrow
    /// message, even for no events).
    pub fn is_placeholder(&self) -> bool {
        self.ipc.is_empty()
    }

    /// Appends the record's frame to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&[0; FRAME_HEADER_BYTES]);
        out.extend_from_slice(&self.seq.to_le_bytes());
        out.extend_from_slice(&self.appended_at_ms.to_le_bytes());
        out.extend_from_slice(&self.events.to_le_bytes());
        put_name(out, &self.site);
        put_name(out, self.batch_id.as_deref().unwrap_or(""));
        out.extend_from_slice(&self.ipc);
        let body = &out[start + FRAME_HEADER_BYTES..];
        let body_len = u32::try_from(body.len()).expect("record bodies are bounded");
        let crc = checksum(body);
        out[start..start + 4].copy_from_slice(&body_len.to_le_bytes());
        out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    }

    /// The bytes of the record's frame on disk.
    pub fn frame_bytes(&self) -> usize {
        FRAME_HEADER_BYTES
            + 8
            + 8
            + 4
            + 2
            + self.site.len()
            + 2
            + self.batch_id_len()
            + self.ipc.len()
    }

    fn batch_id_len(&self) -> usize {
        self.batch_id.as_ref().map_or(0, String::len)
    }

    /// Decodes a record body whose checksum was verified.
    pub fn decode_body(body: &[u8]) -> Option<Self> {
        let mut cursor = body;
        let seq = u64::from_le_bytes(take(&mut cursor, 8)?.try_into().ok()?);
        let appended_at_ms = i64::from_le_bytes(take(&mut cursor, 8)?.try_into().ok()?);
        let events = u32::from_le_bytes(take(&mut cursor, 4)?.try_into().ok()?);
        let site = take_name(&mut cursor)?;
        let batch_id = take_name(&mut cursor)?;
        Some(Self {
            seq,
            appended_at_ms,
            site,
            batch_id: (!batch_id.is_empty()).then_some(batch_id),
            events,
            ipc: cursor.to_vec(),
        })
    }
}

/// What is found at a position of a segment.
#[derive(Debug, PartialEq)]
pub enum Frame {
    /// A whole record with a valid checksum, and the bytes its frame takes.
    Record(Box<WalRecord>, usize),
    /// Nothing more: the bytes end exactly here.
    End,
    /// A frame that is cut short or fails its checksum: the tail of a write a crash interrupted
    /// (or damage).
    Torn,
}

/// Reads the frame at the start of `bytes`.
pub fn read_frame(bytes: &[u8]) -> Frame {
    if bytes.is_empty() {
        return Frame::End;
    }
    if bytes.len() < FRAME_HEADER_BYTES {
        return Frame::Torn;
    }
    let body_len = u32::from_le_bytes(bytes[0..4].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes"));
    if body_len > RECORD_BODY_BYTES_MAX || bytes.len() - FRAME_HEADER_BYTES < body_len {
        return Frame::Torn;
    }
    let body = &bytes[FRAME_HEADER_BYTES..FRAME_HEADER_BYTES + body_len];
    if checksum(body) != crc {
        return Frame::Torn;
    }
    match WalRecord::decode_body(body) {
        Some(record) => Frame::Record(Box::new(record), FRAME_HEADER_BYTES + body_len),
        None => Frame::Torn,
    }
}

/// Bytes of the smallest record body: sequence number, time, event count, two name lengths.
const RECORD_BODY_BYTES_MIN: usize = 8 + 8 + 4 + 2 + 2;

/// The first whole record at or after `from` whose sequence number lies in `seqs`, and its
/// offset: how reading picks up again after damaged bytes. A candidate must have a plausible
/// length and sequence number before its checksum is computed, so scanning a segment of
/// garbage costs about one pass, not one checksum of the rest per byte.
pub fn find_record(
    bytes: &[u8],
    from: usize,
    seqs: std::ops::RangeInclusive<u64>,
) -> Option<(usize, Box<WalRecord>)> {
    let last_start = bytes
        .len()
        .checked_sub(FRAME_HEADER_BYTES + RECORD_BODY_BYTES_MIN)?;
    (from..=last_start).find_map(|offset| {
        let header = &bytes[offset..];
        let body_len = u32::from_le_bytes(header[0..4].try_into().expect("4 bytes")) as usize;
        let seq = u64::from_le_bytes(header[8..16].try_into().expect("8 bytes"));
        if body_len < RECORD_BODY_BYTES_MIN
            || body_len > header.len() - FRAME_HEADER_BYTES
            || !seqs.contains(&seq)
        {
            return None;
        }
        match read_frame(header) {
            Frame::Record(record, _) if record.seq == seq => Some((offset, record)),
            _ => None,
        }
    })
}

/// The checksum of a record body.
fn checksum(body: &[u8]) -> u32 {
    let hash = blake3::hash(body);
    u32::from_le_bytes(hash.as_bytes()[..4].try_into().expect("4 bytes"))
}

fn put_name(out: &mut Vec<u8>, name: &str) {
    let len = u16::try_from(name.len()).expect("names are bounded by NAME_BYTES_MAX");
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(name.as_bytes());
}

fn take<'a>(cursor: &mut &'a [u8], bytes: usize) -> Option<&'a [u8]> {
    if cursor.len() < bytes {
        return None;
    }
    let (head, rest) = cursor.split_at(bytes);
    *cursor = rest;
    Some(head)
}

fn take_name(cursor: &mut &[u8]) -> Option<String> {
    let len = u16::from_le_bytes(take(cursor, 2)?.try_into().ok()?) as usize;
    String::from_utf8(take(cursor, len)?.to_vec()).ok()
}

#[cfg(test)]
mod tests {
    use heatlake_model::{Event, EventBatchBuilder, EventType};

    use super::*;

    fn record(seq: u64, batch_id: Option<&str>) -> WalRecord {
        let mut builder = EventBatchBuilder::with_capacity(2);
        for ts_ms in [1_764_576_000_000, 1_764_576_000_500] {
            builder.append(&Event {
                site: "shop.example".into(),
                ts_ms,
                event_type: EventType::Click,
                x: Some(10),
                path: Some("shop.example/".into()),
                ..Event::default()
            });
        }
        let batch = builder.finish();
        WalRecord {
            seq,
            appended_at_ms: 1_764_576_001_000,
            site: "shop.example".into(),
            batch_id: batch_id.map(str::to_owned),
            events: batch.num_rows() as u32,
            ipc: encode_events(&batch).unwrap(),
        }
    }

    #[test]
    fn a_record_reads_back_whole_and_its_events_decode() {
        let original = record(7, Some("b-1"));
        let mut bytes = Vec::new();
        original.encode_into(&mut bytes);
        assert_eq!(bytes.len(), original.frame_bytes());
        let Frame::Record(decoded, used) = read_frame(&bytes) else {
            panic!("expected a record");
        };
        assert_eq!(used, bytes.len());
        assert_eq!(*decoded, original);
        let events = decode_events(&decoded.ipc).unwrap();
        assert_eq!(events.num_rows(), 2);
        assert_eq!(events.schema(), event_schema());
    }

    #[test]
    fn every_cut_of_a_frame_is_torn_and_every_flipped_byte_is_caught() {
        let mut bytes = Vec::new();
        record(1, None).encode_into(&mut bytes);
        assert_eq!(read_frame(&[]), Frame::End);
        for cut in 1..bytes.len() {
            assert_eq!(read_frame(&bytes[..cut]), Frame::Torn, "cut at {cut}");
        }
        for index in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[index] ^= 0x20;
            assert!(
                !matches!(read_frame(&damaged), Frame::Record(ref r, _) if **r == record(1, None)),
                "flipped byte {index} went unnoticed"
            );
        }
    }

    #[test]
    fn an_empty_batch_id_reads_back_as_none() {
        let mut bytes = Vec::new();
        record(3, None).encode_into(&mut bytes);
        let Frame::Record(decoded, _) = read_frame(&bytes) else {
            panic!("expected a record");
        };
        assert_eq!(decoded.batch_id, None);
    }

    #[test]
    fn reading_picks_up_at_the_next_whole_record_after_damage() {
        let mut bytes = Vec::new();
        let mut starts = Vec::new();
        for seq in 1..=3 {
            starts.push(bytes.len());
            record(seq, Some("b")).encode_into(&mut bytes);
        }
        let middle = starts[1] + 20;
        bytes[middle] ^= 0xff;
        let (offset, found) = find_record(&bytes, starts[1] + 1, 2..=100).expect("record 3");
        assert_eq!((offset, found.seq), (starts[2], 3));
        // Record 1 is whole too, but not after the last good record.
        assert_eq!(find_record(&bytes, 0, 2..=100).unwrap().0, starts[2]);
        assert_eq!(find_record(&bytes, starts[2] + 1, 2..=100), None);
        let mut garbage = vec![0x17; 10_000];
        garbage.extend_from_slice(&bytes[starts[2]..]);
        assert_eq!(find_record(&garbage, 0, 3..=3).unwrap().0, 10_000);
    }

    #[test]
    fn a_placeholder_reads_back_as_one() {
        let mut bytes = Vec::new();
        WalRecord::placeholder(9).encode_into(&mut bytes);
        let Frame::Record(decoded, _) = read_frame(&bytes) else {
            panic!("expected a record");
        };
        assert!(decoded.is_placeholder());
        assert_eq!((decoded.seq, decoded.events), (9, 0));
        assert!(!record(9, None).is_placeholder());
    }
}

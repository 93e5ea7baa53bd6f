//! A stored-only ZIP codec shaped for the browser: the app never copies image bytes into one
//! buffer.
//!
//! **Writing.** [`ZipWriter::entry_header`] gives the local-header bytes of an entry from its
//! name, size and CRC-32; [`ZipWriter::finish`] gives the central directory and end record. The
//! app builds `new Blob([header, imageBlob, header, imageBlob, …, directory])`, so memory holds
//! only headers (about 100 bytes an entry) beyond the images the browser already has.
//! Entries are "stored" (method 0): images are already compressed, so no deflate engine ships.
//!
//! **Reading.** From the archive's last bytes ([`MAX_TAIL`] or the whole file if smaller),
//! [`find_directory`] locates the central directory; [`read_directory`] lists its entries;
//! for an entry, the 30 bytes at its `header_offset` give [`data_range`], the byte range to
//! slice out of the Blob. [`list`] does all three on an archive held in memory.
//! Deflated entries are listed with their method: [`Entry::require_stored`] refuses them
//! with a clear message (the app may instead inflate them with the browser's
//! `DecompressionStream("deflate-raw")`).
//!
//! ZIP64 is not supported: an archive over 4 GiB or with more than 65,534 entries is refused
//! when writing and reported as [`ZipError::Zip64`] when reading. Input is untrusted: every
//! failure is a [`ZipError`], never a panic.

use std::collections::HashSet;
use std::fmt;
use std::ops::Range;

use crate::crc32::crc32;

const LOCAL_SIG: u32 = 0x0403_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const END_SIG: u32 = 0x0605_4b50;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
/// Length of a local header before its name.
pub const LOCAL_HEADER_LEN: usize = 30;
const CENTRAL_HEADER_LEN: usize = 46;
const END_LEN: usize = 22;
/// How many bytes from the end of an archive [`find_directory`] needs at most: the end
/// record and the longest possible archive comment.
pub const MAX_TAIL: usize = END_LEN + 0xFFFF;
/// The most entries Easel writes without ZIP64 (65,535 itself is ZIP64's marker).
pub const MAX_ENTRIES: usize = 0xFFFE;
/// The largest archive (and so entry) Easel writes without ZIP64: 4 GiB - 2 bytes
/// (0xFFFF_FFFF is ZIP64's marker).
pub const MAX_ARCHIVE_BYTES: u64 = 0xFFFF_FFFE;
/// Longest entry name accepted (the format allows 65,535 bytes).
pub const MAX_NAME_BYTES: usize = 1024;

const FLAG_ENCRYPTED: u16 = 1;
const FLAG_UTF8: u16 = 1 << 11;
const VERSION: u16 = 20;
/// "Made by" Unix, version 2.0, so that unzip gives files ordinary permissions.
const MADE_BY_UNIX: u16 = (3 << 8) | VERSION;
const REGULAR_FILE_644: u32 = 0o100_644 << 16;

/// Why an archive could not be written or read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZipError {
    /// No end-of-central-directory record: not a ZIP file, or cut short.
    NotZip,
    /// Structures point outside the archive or contradict each other.
    Malformed(&'static str),
    /// A ZIP64 archive, or writing one would need ZIP64 (over 4 GiB or 65,534 entries).
    Zip64,
    /// Split over several disks.
    MultiDisk,
    /// An entry name that is empty, too long, absolute, or climbs out with `..`.
    BadName(String),
    DuplicateName(String),
    /// The entry is compressed with a method this reader does not inflate.
    Compressed {
        name: String,
        method: u16,
    },
    Encrypted {
        name: String,
    },
    /// The entry's bytes do not match its CRC-32.
    BadCrc {
        name: String,
    },
}

impl fmt::Display for ZipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ZipError::NotZip => f.write_str("This is not a ZIP file, or it is cut short."),
            ZipError::Malformed(why) => write!(f, "The ZIP file is damaged: {why}."),
            ZipError::Zip64 => f.write_str(
                "ZIP archives over 4 GB or with more than 65,534 files are not supported: export fewer images at a time.",
            ),
            ZipError::MultiDisk => f.write_str("ZIP archives split over several parts are not supported."),
            ZipError::BadName(name) => write!(f, "The file name '{name}' cannot be used in a ZIP archive."),
            ZipError::DuplicateName(name) => write!(f, "The ZIP archive names '{name}' twice."),
            ZipError::Compressed { name, method } => write!(
                f,
                "'{name}' is compressed ({}); only uncompressed (stored) entries can be read. Easel's own exports are never compressed.",
                method_name(*method)
            ),
            ZipError::Encrypted { name } => write!(f, "'{name}' is encrypted, which is not supported."),
            ZipError::BadCrc { name } => write!(f, "'{name}' in the ZIP file is damaged (checksum mismatch)."),
        }
    }
}

impl std::error::Error for ZipError {}

fn method_name(method: u16) -> &'static str {
    match method {
        8 => "deflate",
        9 => "deflate64",
        12 => "bzip2",
        14 => "lzma",
        93 => "zstd",
        _ => "an unknown method",
    }
}

/// A time as ZIP stores it (MS-DOS date and time, 2-second resolution, no time zone).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DosTime {
    pub date: u16,
    pub time: u16,
}

impl DosTime {
    /// The UTC time of `unix_ms`, clamped to what DOS times can say (1980 to 2107).
    pub fn from_unix_ms(unix_ms: u64) -> DosTime {
        let secs = unix_ms / 1000;
        let days = secs / 86_400;
        let rem = secs % 86_400;
        let (year, month, day) = civil_from_days(days);
        if year < 1980 {
            return DosTime {
                date: (1 << 5) | 1,
                time: 0,
            };
        }
        if year > 2107 {
            return DosTime {
                date: (127 << 9) | (12 << 5) | 31,
                time: (23 << 11) | (59 << 5) | 29,
            };
        }
        let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
        DosTime {
            date: (((year - 1980) as u16) << 9) | ((month as u16) << 5) | day as u16,
            time: ((h as u16) << 11) | ((m as u16) << 5) | (s / 2) as u16,
        }
    }

    /// `(year, month, day, hour, minute, second)`.
    pub fn parts(self) -> (u32, u32, u32, u32, u32, u32) {
        let d = u32::from(self.date);
        let t = u32::from(self.time);
        (
            1980 + (d >> 9),
            (d >> 5) & 0xF,
            d & 0x1F,
            t >> 11,
            (t >> 5) & 0x3F,
            (t & 0x1F) * 2,
        )
    }
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// Whether `name` is a safe entry name: relative, `/`-separated, no `..`, no empty segment.
pub fn check_name(name: &str) -> Result<(), ZipError> {
    let bad = name.is_empty()
        || name.len() > MAX_NAME_BYTES
        || name.starts_with('/')
        || name.contains('\\')
        || name.contains('\0')
        || name.contains(':')
        || name
            .split('/')
            .any(|segment| segment.is_empty() || segment == "." || segment == "..");
    if bad {
        Err(ZipError::BadName(name.chars().take(100).collect()))
    } else {
        Ok(())
    }
}

/// Writes a stored-only archive piece by piece; see the module docs for how the app uses it.
#[derive(Debug, Default)]
pub struct ZipWriter {
    central: Vec<u8>,
    names: HashSet<String>,
    offset: u64,
}

impl ZipWriter {
    pub fn new() -> ZipWriter {
        ZipWriter::default()
    }

    /// The local header of a stored entry whose `size` bytes, with CRC-32 `crc32`, the caller
    /// puts right after it. Refuses unsafe or repeated names, and anything that would take the
    /// archive past 4 GiB or 65,534 entries.
    pub fn entry_header(
        &mut self,
        name: &str,
        size: u64,
        crc32: u32,
        modified: DosTime,
    ) -> Result<Vec<u8>, ZipError> {
        check_name(name)?;
        if self.names.contains(name) {
            return Err(ZipError::DuplicateName(name.to_owned()));
        }
        if self.names.len() >= MAX_ENTRIES {
            return Err(ZipError::Zip64);
        }
        let header_len = (LOCAL_HEADER_LEN + name.len()) as u64;
        let end = self.offset.saturating_add(header_len).saturating_add(size);
        // The central directory and end record must fit below 4 GiB as well.
        let directory = self.central.len() as u64 + (CENTRAL_HEADER_LEN + name.len()) as u64;
        if end.saturating_add(directory + END_LEN as u64) > MAX_ARCHIVE_BYTES {
            return Err(ZipError::Zip64);
        }
        let flags = if name.is_ascii() { 0 } else { FLAG_UTF8 };
        let size32 = size as u32;
        let offset32 = self.offset as u32;

        let mut local = Vec::with_capacity(header_len as usize);
        put32(&mut local, LOCAL_SIG);
        put16(&mut local, VERSION);
        put16(&mut local, flags);
        put16(&mut local, 0); // stored
        put16(&mut local, modified.time);
        put16(&mut local, modified.date);
        put32(&mut local, crc32);
        put32(&mut local, size32);
        put32(&mut local, size32);
        put16(&mut local, name.len() as u16);
        put16(&mut local, 0); // no extra field
        local.extend_from_slice(name.as_bytes());

        let c = &mut self.central;
        put32(c, CENTRAL_SIG);
        put16(c, MADE_BY_UNIX);
        put16(c, VERSION);
        put16(c, flags);
        put16(c, 0);
        put16(c, modified.time);
        put16(c, modified.date);
        put32(c, crc32);
        put32(c, size32);
        put32(c, size32);
        put16(c, name.len() as u16);
        put16(c, 0); // extra
        put16(c, 0); // comment
        put16(c, 0); // disk
        put16(c, 0); // internal attributes
        put32(c, REGULAR_FILE_644);
        put32(c, offset32);
        c.extend_from_slice(name.as_bytes());

        self.names.insert(name.to_owned());
        self.offset = end;
        Ok(local)
    }

    /// Bytes written so far, counting each entry's data as given to `entry_header`.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The central directory and end record: the archive's last bytes.
    pub fn finish(self) -> Vec<u8> {
        // `entry_header` kept offset + directory + end record below 4 GiB and the count
        // below 65,535, so these casts are exact.
        let count = self.names.len() as u16;
        let mut out = self.central;
        let size = out.len() as u32;
        put32(&mut out, END_SIG);
        put16(&mut out, 0);
        put16(&mut out, 0);
        put16(&mut out, count);
        put16(&mut out, count);
        put32(&mut out, size);
        put32(&mut out, self.offset as u32);
        put16(&mut out, 0); // no comment
        out
    }
}

/// A whole stored archive in memory, for small archives and tests. The app should use
/// [`ZipWriter`] and Blob parts instead.
pub fn write_stored(entries: &[(&str, &[u8])], modified: DosTime) -> Result<Vec<u8>, ZipError> {
    let mut writer = ZipWriter::new();
    let mut out = Vec::new();
    for (name, data) in entries {
        out.extend(writer.entry_header(name, data.len() as u64, crc32(data), modified)?);
        out.extend_from_slice(data);
    }
    out.extend(writer.finish());
    Ok(out)
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn get16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn get32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Where the central directory is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Directory {
    pub offset: u64,
    pub size: u64,
    pub entries: u16,
}

impl Directory {
    pub fn range(&self) -> Range<u64> {
        self.offset..self.offset + self.size
    }
}

/// Finds the end record in `tail`, the last `tail.len()` bytes of an archive of `archive_len`
/// bytes (pass at least [`MAX_TAIL`] bytes, or the whole archive when it is smaller).
pub fn find_directory(tail: &[u8], archive_len: u64) -> Result<Directory, ZipError> {
    let tail_start = archive_len
        .checked_sub(tail.len() as u64)
        .ok_or(ZipError::Malformed("the tail is longer than the archive"))?;
    if tail.len() < END_LEN {
        return Err(ZipError::NotZip);
    }
    // Search backwards for an end record whose comment reaches exactly to the end.
    let mut at = tail.len() - END_LEN;
    let end = loop {
        if get32(tail, at) == END_SIG
            && at + END_LEN + usize::from(get16(tail, at + 20)) == tail.len()
        {
            break at;
        }
        if at == 0 {
            return Err(ZipError::NotZip);
        }
        at -= 1;
    };
    if end >= 20 && get32(tail, end - 20) == ZIP64_LOCATOR_SIG {
        return Err(ZipError::Zip64);
    }
    let (disk, cd_disk) = (get16(tail, end + 4), get16(tail, end + 6));
    let (on_disk, entries) = (get16(tail, end + 8), get16(tail, end + 10));
    let (size, offset) = (get32(tail, end + 12), get32(tail, end + 16));
    if entries == 0xFFFF || size == 0xFFFF_FFFF || offset == 0xFFFF_FFFF {
        return Err(ZipError::Zip64);
    }
    if disk != 0 || cd_disk != 0 || on_disk != entries {
        return Err(ZipError::MultiDisk);
    }
    let end_offset = tail_start + end as u64;
    if u64::from(offset) + u64::from(size) != end_offset {
        return Err(ZipError::Malformed(
            "the central directory does not end where the end record begins",
        ));
    }
    if u64::from(size) < u64::from(entries) * CENTRAL_HEADER_LEN as u64 {
        return Err(ZipError::Malformed(
            "the central directory is too small for its entries",
        ));
    }
    Ok(Directory {
        offset: u64::from(offset),
        size: u64::from(size),
        entries,
    })
}

/// The compression method of an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Stored,
    Deflated,
    Other(u16),
}

impl Method {
    fn from_code(code: u16) -> Method {
        match code {
            0 => Method::Stored,
            8 => Method::Deflated,
            other => Method::Other(other),
        }
    }

    pub fn code(self) -> u16 {
        match self {
            Method::Stored => 0,
            Method::Deflated => 8,
            Method::Other(code) => code,
        }
    }
}

/// One entry of the central directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub method: Method,
    pub encrypted: bool,
    pub crc32: u32,
    pub compressed_size: u64,
    pub size: u64,
    pub modified: DosTime,
    /// Where the entry's local header starts.
    pub header_offset: u64,
}

impl Entry {
    /// Directories are listed too; they have no data.
    pub fn is_dir(&self) -> bool {
        self.name.ends_with('/')
    }

    /// `Ok` for an unencrypted stored entry, whose data can be sliced out as is.
    pub fn require_stored(&self) -> Result<(), ZipError> {
        if self.encrypted {
            return Err(ZipError::Encrypted {
                name: self.name.clone(),
            });
        }
        match self.method {
            Method::Stored if self.size == self.compressed_size => Ok(()),
            Method::Stored => Err(ZipError::Malformed("a stored entry's two sizes differ")),
            other => Err(ZipError::Compressed {
                name: self.name.clone(),
                method: other.code(),
            }),
        }
    }

    /// Checks the entry's (uncompressed) bytes against its CRC-32.
    pub fn check_crc(&self, data: &[u8]) -> Result<(), ZipError> {
        if data.len() as u64 == self.size && crc32(data) == self.crc32 {
            Ok(())
        } else {
            Err(ZipError::BadCrc {
                name: self.name.clone(),
            })
        }
    }
}

/// The entries of the central directory `bytes` (exactly `directory.range()` of the archive).
pub fn read_directory(bytes: &[u8], directory: &Directory) -> Result<Vec<Entry>, ZipError> {
    if bytes.len() as u64 != directory.size {
        return Err(ZipError::Malformed(
            "the central directory has the wrong length",
        ));
    }
    let mut entries = Vec::with_capacity(usize::from(directory.entries));
    let mut names = HashSet::new();
    let mut at = 0usize;
    for _ in 0..directory.entries {
        let fixed = bytes
            .get(at..at + CENTRAL_HEADER_LEN)
            .ok_or(ZipError::Malformed("the central directory is cut short"))?;
        if get32(fixed, 0) != CENTRAL_SIG {
            return Err(ZipError::Malformed(
                "a central directory entry has a bad signature",
            ));
        }
        let flags = get16(fixed, 8);
        let (crc, csize, usize_) = (get32(fixed, 16), get32(fixed, 20), get32(fixed, 24));
        let (name_len, extra_len, comment_len) = (
            usize::from(get16(fixed, 28)),
            usize::from(get16(fixed, 30)),
            usize::from(get16(fixed, 32)),
        );
        let header_offset = get32(fixed, 42);
        if csize == 0xFFFF_FFFF || usize_ == 0xFFFF_FFFF || header_offset == 0xFFFF_FFFF {
            return Err(ZipError::Zip64);
        }
        let name_start = at + CENTRAL_HEADER_LEN;
        let raw_name = bytes
            .get(name_start..name_start + name_len)
            .ok_or(ZipError::Malformed("the central directory is cut short"))?;
        let name = match std::str::from_utf8(raw_name) {
            Ok(name) => name.to_owned(),
            Err(_) if flags & FLAG_UTF8 != 0 => {
                return Err(ZipError::Malformed("an entry name is not valid UTF-8"));
            }
            Err(_) => String::from_utf8_lossy(raw_name).into_owned(),
        };
        at = name_start + name_len + extra_len + comment_len;
        if at > bytes.len() {
            return Err(ZipError::Malformed("the central directory is cut short"));
        }
        if u64::from(header_offset) + LOCAL_HEADER_LEN as u64 > directory.offset {
            return Err(ZipError::Malformed("an entry starts outside the archive"));
        }
        if !names.insert(name.clone()) {
            return Err(ZipError::DuplicateName(name));
        }
        entries.push(Entry {
            name,
            method: Method::from_code(get16(fixed, 10)),
            encrypted: flags & FLAG_ENCRYPTED != 0,
            crc32: crc,
            compressed_size: u64::from(csize),
            size: u64::from(usize_),
            modified: DosTime {
                time: get16(fixed, 12),
                date: get16(fixed, 14),
            },
            header_offset: u64::from(header_offset),
        });
    }
    if at != bytes.len() {
        return Err(ZipError::Malformed(
            "the central directory has bytes after its entries",
        ));
    }
    Ok(entries)
}

/// The byte range of `entry`'s (compressed) data, from the first [`LOCAL_HEADER_LEN`] bytes at
/// its `header_offset`. The range ends before the central directory.
pub fn data_range(
    local_header: &[u8],
    entry: &Entry,
    directory: &Directory,
) -> Result<Range<u64>, ZipError> {
    if local_header.len() < LOCAL_HEADER_LEN || get32(local_header, 0) != LOCAL_SIG {
        return Err(ZipError::Malformed("an entry's local header is missing"));
    }
    let skip = LOCAL_HEADER_LEN as u64
        + u64::from(get16(local_header, 26))
        + u64::from(get16(local_header, 28));
    let start = entry.header_offset + skip;
    let end = start + entry.compressed_size;
    if end > directory.offset {
        return Err(ZipError::Malformed("an entry's data runs past the archive"));
    }
    Ok(start..end)
}

/// Every entry of an archive held in memory, with the range of its data.
pub fn list(archive: &[u8]) -> Result<Vec<(Entry, Range<u64>)>, ZipError> {
    let tail = &archive[archive.len().saturating_sub(MAX_TAIL)..];
    let directory = find_directory(tail, archive.len() as u64)?;
    let range = directory.range();
    let entries = read_directory(
        &archive[range.start as usize..range.end as usize],
        &directory,
    )?;
    entries
        .into_iter()
        .map(|entry| {
            let at = entry.header_offset as usize;
            let header = &archive[at..(at + LOCAL_HEADER_LEN).min(archive.len())];
            let data = data_range(header, &entry, &directory)?;
            Ok((entry, data))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::png_text::tests::{PIXEL_PNG, XorShift};

    /// Written once by Python's `zipfile` (`tests/fixtures/make-python-stored.py`).
    const PYTHON_ZIP: &[u8] = include_bytes!("../tests/fixtures/python-stored.zip");
    const NOV_2026: u64 = 1_795_000_000_000;

    fn get<'a>(archive: &'a [u8], range: &Range<u64>) -> &'a [u8] {
        &archive[range.start as usize..range.end as usize]
    }

    #[test]
    fn write_then_read_roundtrip() {
        let manifest = br#"{"format":"easel-gallery"}"#;
        let big: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let entries: [(&str, &[u8]); 4] = [
            ("manifest.json", manifest),
            ("images/a-fox-1.png", &PIXEL_PNG),
            ("images/empty.txt", b""),
            ("images/ünïcødé-猫.bin", &big),
        ];
        let time = DosTime::from_unix_ms(NOV_2026);
        let archive = write_stored(&entries, time).unwrap();
        let listed = list(&archive).unwrap();
        assert_eq!(listed.len(), 4);
        for ((entry, range), (name, data)) in listed.iter().zip(entries) {
            assert_eq!(entry.name, name);
            assert_eq!(entry.method, Method::Stored);
            assert_eq!(entry.modified, time);
            entry.require_stored().unwrap();
            assert_eq!(get(&archive, range), data);
            entry.check_crc(data).unwrap();
        }
        assert!(listed[0].0.check_crc(b"other").is_err());
    }

    #[test]
    fn writer_pieces_assemble_like_blob_parts() {
        let mut writer = ZipWriter::new();
        let time = DosTime::from_unix_ms(NOV_2026);
        let a = writer
            .entry_header("a.png", 70, crc32(&PIXEL_PNG), time)
            .unwrap();
        assert_eq!(writer.offset(), (a.len() + 70) as u64);
        let b = writer
            .entry_header("b.png", 70, crc32(&PIXEL_PNG), time)
            .unwrap();
        assert_eq!(writer.len(), 2);
        let predicted = writer.offset();
        let end = writer.finish();
        let parts: [&[u8]; 5] = [&a, &PIXEL_PNG, &b, &PIXEL_PNG, &end];
        let archive = parts.concat();
        assert_eq!(archive.len() as u64, predicted + end.len() as u64);
        assert_eq!(list(&archive).unwrap().len(), 2);
    }

    #[test]
    fn writer_refuses_bad_names_duplicates_and_zip64() {
        let mut w = ZipWriter::new();
        let t = DosTime::default();
        for name in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a//b",
            "a\\b",
            "c:x",
            "dir/",
        ] {
            assert!(
                matches!(w.entry_header(name, 0, 0, t), Err(ZipError::BadName(_))),
                "{name}"
            );
        }
        w.entry_header("a", 0, 0, t).unwrap();
        assert_eq!(
            w.entry_header("a", 0, 0, t),
            Err(ZipError::DuplicateName("a".into()))
        );
        assert_eq!(w.entry_header("big", 1 << 32, 0, t), Err(ZipError::Zip64));
        w.entry_header("b", 3_000_000_000, 0, t).unwrap();
        assert_eq!(
            w.entry_header("c", 2_000_000_000, 0, t),
            Err(ZipError::Zip64)
        );
        assert!(ZipError::Zip64.to_string().contains("4 GB"));

        let mut many = ZipWriter::new();
        for i in 0..MAX_ENTRIES {
            many.entry_header(&i.to_string(), 0, 0, t).unwrap();
        }
        assert_eq!(many.entry_header("one-more", 0, 0, t), Err(ZipError::Zip64));
        let end = many.finish();
        let tail = &end[end.len().saturating_sub(MAX_TAIL)..];
        let total = many_len(&end);
        let dir = find_directory(tail, total).unwrap();
        assert_eq!(usize::from(dir.entries), MAX_ENTRIES);
    }

    /// Length of an archive of empty entries whose directory and end record are `end`.
    fn many_len(end: &[u8]) -> u64 {
        let offset = get32(end, end.len() - 6);
        u64::from(offset) + end.len() as u64
    }

    #[test]
    fn dos_times() {
        let t = DosTime::from_unix_ms(NOV_2026);
        // 1795000000 s = 2026-11-18 11:06:40 UTC.
        assert_eq!(t.parts(), (2026, 11, 18, 11, 6, 40));
        assert_eq!(
            DosTime::from_unix_ms(951_782_400_000).parts(),
            (2000, 2, 29, 0, 0, 0)
        );
        assert_eq!(DosTime::from_unix_ms(0).parts(), (1980, 1, 1, 0, 0, 0));
        assert_eq!(DosTime::from_unix_ms(u64::MAX).parts().0, 2107);
    }

    #[test]
    fn reads_an_archive_written_by_python() {
        let listed = list(PYTHON_ZIP).unwrap();
        let names: Vec<&str> = listed.iter().map(|(e, _)| e.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "manifest.json",
                "images/",
                "images/pixel.png",
                "images/grüße-猫.txt",
                "notes.txt"
            ]
        );
        let (manifest, range) = &listed[0];
        assert!(get(PYTHON_ZIP, range).starts_with(b"{\n \"format\": \"easel-gallery\""));
        manifest.check_crc(get(PYTHON_ZIP, range)).unwrap();
        assert!(listed[1].0.is_dir());
        let (png, range) = &listed[2];
        png.require_stored().unwrap();
        assert_eq!(get(PYTHON_ZIP, range), PIXEL_PNG);
        png.check_crc(&PIXEL_PNG).unwrap();
        assert_eq!(png.modified.parts(), (2026, 11, 28, 12, 30, 4));
        let (text, range) = &listed[3];
        assert_eq!(get(PYTHON_ZIP, range), "Grüße, 猫!\n".as_bytes());
        text.check_crc(get(PYTHON_ZIP, range)).unwrap();
        // Deflated entries are listed, and refused with a reason when asked for.
        let (notes, _) = &listed[4];
        assert_eq!(notes.method, Method::Deflated);
        let err = notes.require_stored().unwrap_err();
        assert_eq!(
            err,
            ZipError::Compressed {
                name: "notes.txt".into(),
                method: 8
            }
        );
        assert!(err.to_string().contains("deflate"));
    }

    #[test]
    fn reads_through_the_tail_and_random_access_path() {
        // What the app does with a Blob: the tail, then the directory, then 30 bytes per entry.
        let archive = PYTHON_ZIP;
        let tail = &archive[archive.len().saturating_sub(100)..];
        let dir = find_directory(tail, archive.len() as u64).unwrap();
        let range = dir.range();
        let entries = read_directory(get(archive, &range), &dir).unwrap();
        let png = &entries[2];
        let at = png.header_offset as usize;
        let data = data_range(&archive[at..at + LOCAL_HEADER_LEN], png, &dir).unwrap();
        assert_eq!(get(archive, &data), PIXEL_PNG);
        assert_eq!(
            find_directory(tail, 10),
            Err(ZipError::Malformed("the tail is longer than the archive"))
        );
        assert_eq!(
            read_directory(&[], &dir),
            Err(ZipError::Malformed(
                "the central directory has the wrong length"
            ))
        );
    }

    #[test]
    fn malformed_archives_are_typed_errors() {
        assert_eq!(list(b""), Err(ZipError::NotZip));
        assert_eq!(list(&PIXEL_PNG), Err(ZipError::NotZip));
        let archive = write_stored(&[("a.png", &PIXEL_PNG)], DosTime::default()).unwrap();
        let end = archive.len() - END_LEN;
        let mut zip64 = archive.clone();
        zip64[end + 16..end + 20].copy_from_slice(&[0xFF; 4]);
        assert_eq!(list(&zip64), Err(ZipError::Zip64));
        let mut disks = archive.clone();
        disks[end + 4] = 1;
        assert_eq!(list(&disks), Err(ZipError::MultiDisk));
        let mut encrypted = archive.clone();
        let central = get32(&archive, end + 16) as usize;
        encrypted[central + 8] |= 1;
        let listed = list(&encrypted).unwrap();
        assert!(matches!(
            listed[0].0.require_stored(),
            Err(ZipError::Encrypted { .. })
        ));
        let mut outside = archive.clone();
        outside[central + 42..central + 46].copy_from_slice(&1000u32.to_le_bytes());
        assert!(matches!(list(&outside), Err(ZipError::Malformed(_))));
        let mut long = archive.clone();
        long[central + 20..central + 28].copy_from_slice(&[0xF0, 0xFF, 0, 0, 0xF0, 0xFF, 0, 0]);
        assert!(matches!(list(&long), Err(ZipError::Malformed(_))));
    }

    #[test]
    fn truncations_and_byte_flips_never_panic() {
        let archive = write_stored(
            &[("manifest.json", b"{}"), ("images/a.png", &PIXEL_PNG)],
            DosTime::from_unix_ms(NOV_2026),
        )
        .unwrap();
        for source in [&archive[..], PYTHON_ZIP] {
            for len in 0..source.len() {
                // A cut archive has lost its end record (or the directory it points to).
                assert!(list(&source[..len]).is_err(), "len {len}");
            }
            let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
            for _ in 0..5000 {
                let mut mutated = source.to_vec();
                for _ in 0..1 + rng.below(4) {
                    let at = rng.below(mutated.len());
                    mutated[at] = rng.next() as u8;
                }
                if let Ok(listed) = list(&mutated) {
                    for (entry, range) in listed {
                        assert!(range.end <= mutated.len() as u64);
                        let _ = entry.require_stored();
                    }
                }
            }
        }
        let mut rng = XorShift(7);
        for _ in 0..500 {
            let mut garbage: Vec<u8> = (0..rng.below(300)).map(|_| rng.next() as u8).collect();
            garbage.extend_from_slice(&END_SIG.to_le_bytes());
            garbage.extend((0..18).map(|_| rng.next() as u8));
            let _ = list(&garbage);
        }
    }
}

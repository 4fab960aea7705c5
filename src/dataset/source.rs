//! Read-only sources: gzip-compressed JSON/JSONL and Parquet files, decoded to records when they
//! are opened. Review state works on them as on any file; edits are saved with save-as to JSONL,
//! since sift never rewrites a compressed or columnar file.

use std::path::Path;

/// Where a dataset's bytes came from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Source {
    /// A JSON or JSONL file, read and saved in place.
    #[default]
    File,
    /// A gzip-compressed JSON or JSONL file (`.jsonl.gz`), decompressed on open.
    Gzip,
    /// A Parquet file, one JSON object per row (columns in the file's order).
    Parquet,
}

impl Source {
    /// Whether saving in place is refused (save-as to JSONL instead).
    pub fn is_read_only(self) -> bool {
        self != Source::File
    }

    /// What the file is, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Source::File => "JSON file",
            Source::Gzip => "gzip-compressed file",
            Source::Parquet => "Parquet file",
        }
    }

    /// The source a file's first bytes announce.
    pub fn sniff(head: &[u8]) -> Source {
        if head.starts_with(b"\x1f\x8b") {
            Source::Gzip
        } else if head.starts_with(b"PAR1") {
            Source::Parquet
        } else {
            Source::File
        }
    }
}

/// The JSONL file a read-only source's edits are saved to by default: `data.jsonl.gz` and
/// `data.parquet` become `data.jsonl` beside them.
pub fn save_as_suggestion(path: &Path) -> std::path::PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = name.strip_suffix(".gz").unwrap_or(&name);
    let stem = [".jsonl", ".json", ".parquet"].iter().find_map(|e| stem.strip_suffix(e)).unwrap_or(stem);
    path.with_file_name(format!("{stem}.jsonl"))
}

/// Why a source could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("the gzip data is damaged: {0}")]
    Gzip(std::io::Error),
    #[error("cannot read the Parquet file: {0}")]
    Parquet(String),
}

/// Decompresses gzip data (every member of a multi-member file).
pub fn gunzip(buf: &[u8]) -> Result<Vec<u8>, SourceError> {
    use std::io::Read;
    let mut out = Vec::with_capacity(buf.len() * 4);
    flate2::read::MultiGzDecoder::new(buf).read_to_end(&mut out).map_err(SourceError::Gzip)?;
    Ok(out)
}

/// One JSONL line per Parquet row: `{"column": value, ...}` in the file's column order, nested
/// lists and structs (message lists) as JSON arrays and objects.
pub fn parquet_to_jsonl(buf: Vec<u8>) -> Result<Vec<u8>, SourceError> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let err = |e: parquet::errors::ParquetError| SourceError::Parquet(e.to_string());
    let reader = SerializedFileReader::new(bytes::Bytes::from(buf)).map_err(err)?;
    let mut out = Vec::new();
    for row in reader.get_row_iter(None).map_err(err)? {
        let row = row.map_err(err)?;
        out.push(b'{');
        for (n, (name, field)) in row.get_column_iter().enumerate() {
            if n > 0 {
                out.extend_from_slice(b", ");
            }
            serde_json::to_writer(&mut out, name).expect("a string serializes");
            out.extend_from_slice(b": ");
            serde_json::to_writer(&mut out, &field.to_json_value()).expect("a JSON value serializes");
        }
        out.extend_from_slice(b"}\n");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_a_jsonl_beside_the_source() {
        assert_eq!(save_as_suggestion(Path::new("/d/data.jsonl.gz")), Path::new("/d/data.jsonl"));
        assert_eq!(save_as_suggestion(Path::new("/d/train.parquet")), Path::new("/d/train.jsonl"));
        assert_eq!(save_as_suggestion(Path::new("x.json.gz")), Path::new("x.jsonl"));
        assert_eq!(Source::sniff(b"PAR1\0\0"), Source::Parquet);
        assert_eq!(Source::sniff(b"\x1f\x8b\x08"), Source::Gzip);
        assert_eq!(Source::sniff(b"{\"a\""), Source::File);
    }

    #[test]
    fn damaged_gzip_is_an_error() {
        let e = gunzip(b"\x1f\x8b\x08\x00garbage").unwrap_err();
        assert!(e.to_string().contains("gzip data is damaged"), "{e}");
    }
}

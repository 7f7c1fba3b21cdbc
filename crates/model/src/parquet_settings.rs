//! The Parquet writer settings of every file Heatlake writes, in one place.
//!
//! [`ParquetSettings`] names each setting that matters for size and read speed, with Heatlake's
//! defaults; a writer states what it does differently as explicit overrides of those defaults
//! (`ParquetSettings { zstd_level: 3, ..ParquetSettings::default() }`) and turns them into the
//! `parquet` crate's [`WriterProperties`] with [`writer_properties`], which sets every one of them
//! rather than leaving any to the library's defaults.

use arrow_schema::Schema;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::metadata::SortingColumn;
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::schema::types::ColumnPath;

/// How a Parquet file is written. [`Default`] gives Heatlake's defaults; writers override fields.
#[derive(Debug, Clone, PartialEq)]
pub struct ParquetSettings {
    /// Zstandard level of every column. Default 1.
    pub zstd_level: i32,
    /// Rows per row group at most: the unit of statistics-based pruning. Default 262,144.
    pub row_group_rows_max: usize,
    /// Dictionary encoding of every column not named in [`plain_columns`](Self::plain_columns)
    /// or [`delta_columns`](Self::delta_columns). Default on: most string columns repeat a few
    /// values per file.
    pub dictionary: bool,
    /// Statistics written. Default [`EnabledStatistics::Page`]: page-level statistics make the
    /// page index, which lets readers skip pages, not only row groups.
    pub statistics: EnabledStatistics,
    /// Largest data page, in bytes. Default 1 MiB.
    pub data_page_bytes_max: usize,
    /// Most rows in a data page. Default 20,000.
    pub data_page_rows_max: usize,
    /// Largest dictionary page, in bytes; a column chunk whose dictionary outgrows it falls back
    /// to plain encoding. Default 1 MiB.
    pub dictionary_page_bytes_max: usize,
    /// Rows the writer encodes at a time. Default 1,024.
    pub write_batch_rows: usize,
    /// Columns written without a dictionary, plain-encoded. Default none.
    pub plain_columns: Vec<&'static str>,
    /// Integer columns written without a dictionary, delta-encoded (`DELTA_BINARY_PACKED`), for
    /// values that are nearly all distinct but close to their neighbours. Default none.
    pub delta_columns: Vec<&'static str>,
    /// The order of the rows, recorded in each row group's `sorting_columns` so that readers can
    /// rely on it (see [`sorting_columns`]). Default empty: no order recorded.
    pub sorting_columns: Vec<SortingColumn>,
    /// The file's `created_by`. Default `heatlake` and the version.
    pub created_by: String,
}

impl Default for ParquetSettings {
    fn default() -> Self {
        Self {
            zstd_level: 1,
            row_group_rows_max: 262_144,
            dictionary: true,
            statistics: EnabledStatistics::Page,
            data_page_bytes_max: 1024 * 1024,
            data_page_rows_max: 20_000,
            dictionary_page_bytes_max: 1024 * 1024,
            write_batch_rows: 1024,
            plain_columns: Vec::new(),
            delta_columns: Vec::new(),
            sorting_columns: Vec::new(),
            created_by: format!("heatlake {}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// The `parquet` writer properties of `settings`, every setting stated, in Parquet format 1.0
/// pages (read by every engine). Fails only on a zstd level out of range.
///
/// ```
/// use heatlake_model::parquet_settings::{ParquetSettings, writer_properties};
///
/// let settings = ParquetSettings { zstd_level: 3, ..ParquetSettings::default() };
/// let properties = writer_properties(&settings)?;
/// assert_eq!(properties.max_row_group_row_count(), Some(262_144));
/// assert!(writer_properties(&ParquetSettings { zstd_level: 99, ..settings }).is_err());
/// # Ok::<(), parquet::errors::ParquetError>(())
/// ```
pub fn writer_properties(settings: &ParquetSettings) -> Result<WriterProperties, ParquetError> {
    let zstd = ZstdLevel::try_new(settings.zstd_level)?;
    let sorting_columns =
        (!settings.sorting_columns.is_empty()).then(|| settings.sorting_columns.clone());
    let mut builder = WriterProperties::builder()
        .set_writer_version(WriterVersion::PARQUET_1_0)
        .set_compression(Compression::ZSTD(zstd))
        .set_dictionary_enabled(settings.dictionary)
        .set_statistics_enabled(settings.statistics)
        .set_max_row_group_row_count(Some(settings.row_group_rows_max.max(1)))
        .set_data_page_size_limit(settings.data_page_bytes_max)
        .set_data_page_row_count_limit(settings.data_page_rows_max)
        .set_dictionary_page_size_limit(settings.dictionary_page_bytes_max)
        .set_write_batch_size(settings.write_batch_rows)
        .set_sorting_columns(sorting_columns)
        .set_created_by(settings.created_by.clone());
    for column in &settings.plain_columns {
        builder = builder.set_column_dictionary_enabled(ColumnPath::from(*column), false);
    }
    for column in &settings.delta_columns {
        builder = builder
            .set_column_dictionary_enabled(ColumnPath::from(*column), false)
            .set_column_encoding(ColumnPath::from(*column), Encoding::DELTA_BINARY_PACKED);
    }
    Ok(builder.build())
}

/// `columns` of `schema` (a flat schema, such as a data file's) as an ascending, nulls-first
/// sort order.
///
/// # Panics
/// If a column is not in `schema`.
pub fn sorting_columns(schema: &Schema, columns: &[&str]) -> Vec<SortingColumn> {
    columns
        .iter()
        .map(|name| SortingColumn {
            column_idx: schema
                .index_of(name)
                .unwrap_or_else(|_| panic!("sort column {name:?} is in the schema"))
                as i32,
            descending: false,
            nulls_first: true,
        })
        .collect()
}

//! Parquet output on every core: the columns of a row group are encoded (levels, plain or
//! dictionary encoding, statistics, Snappy) by the thread pool, one column per task, and a
//! finished row group is written to the file by a thread of its own while the next one is encoded.
//!
//! The file is byte for byte the one `parquet::arrow::ArrowWriter` writes from the same batches
//! and properties: the file writer, schema and key–value metadata are `ArrowWriter`'s own (taken
//! apart with `into_serialized_writer`), each column writer receives the same slices in the same
//! order as `ArrowWriter` would hand it (batches are cut at the same row-group boundaries), and the
//! chunks are appended in column order. Only which thread runs each column's encoder changes.
//! Row groups limited by bytes (`max_row_group_bytes`) and content-defined chunking are refused:
//! `ArrowWriter` cuts those by its running size estimates, which this writer does not replicate.
//!
//! Why it lives in the binary crate: it only encodes tables that `vigil signals` and `vigil
//! interactions` print; it reads nothing and knows nothing of the store (vigil-store writes its own
//! files in its own layout).

use std::io::Write;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use anyhow::{bail, Context, Result};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_writer::{
    compute_leaves, ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory,
};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use rayon::prelude::*;

/// What the encoder hands the file-writing thread.
enum ToFile {
    /// The column chunks of one row group, in column order.
    RowGroup(Vec<ArrowColumnChunk>),
    /// Every row group was sent: write the footer.
    Finish,
}

/// Writes the batches that `produce` gives to [`ColumnEncoder::write`] as a Parquet file on
/// `out`, with `schema` and `props`. The file ends (its footer is written) only when `produce`
/// returns `Ok`; on an error nothing more is written and the error is returned.
pub fn write_parquet<W: Write + Send>(
    out: W,
    schema: SchemaRef,
    props: WriterProperties,
    produce: impl FnOnce(&mut ColumnEncoder) -> Result<()>,
) -> Result<()> {
    if props.max_row_group_bytes().is_some() || props.content_defined_chunking().is_some() {
        bail!("the parallel Parquet writer cuts row groups by row count only");
    }
    let max_rows = props.max_row_group_row_count();
    let (file, factory) =
        ArrowWriter::try_new(out, schema.clone(), Some(props))?.into_serialized_writer()?;
    std::thread::scope(|scope| {
        // A rendezvous channel: at most one row group waits while another is written.
        let (to_file, from_encoder) = sync_channel(0);
        let file_thread = scope.spawn(move || write_row_groups(file, from_encoder));
        let mut encoder = ColumnEncoder {
            factory,
            schema,
            max_rows,
            columns: Vec::new(),
            buffered_rows: 0,
            row_groups: 0,
            to_file,
        };
        let produced = produce(&mut encoder).and_then(|()| encoder.finish());
        drop(encoder);
        let written = file_thread
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        // The file thread's error first: when it failed (a full disk, a closed pipe), the
        // encoder only saw that it stopped listening.
        written.and(produced)
    })
}

/// The file-writing thread: appends every row group it receives, then the footer.
fn write_row_groups<W: Write + Send>(
    mut file: SerializedFileWriter<W>,
    from_encoder: Receiver<ToFile>,
) -> Result<()> {
    for message in from_encoder {
        match message {
            ToFile::RowGroup(chunks) => {
                let mut row_group = file.next_row_group()?;
                for chunk in chunks {
                    chunk.append_to_row_group(&mut row_group)?;
                }
                row_group.close()?;
            }
            ToFile::Finish => {
                file.close()?;
                return Ok(());
            }
        }
    }
    // The encoder stopped on an error: leave the file unfinished (the caller discards it).
    Ok(())
}

/// Encodes batches into row groups, each column on its own task of the thread pool.
pub struct ColumnEncoder {
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    max_rows: Option<usize>,
    /// The column writers of the row group being filled; empty between row groups.
    columns: Vec<ArrowColumnWriter>,
    buffered_rows: usize,
    /// Row groups started so far (the index of the next one).
    row_groups: usize,
    to_file: SyncSender<ToFile>,
}

impl ColumnEncoder {
    /// Encodes `batch` (its schema must be the file's), cut at row-group boundaries as
    /// `ArrowWriter::write` cuts it.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.schema().fields() != self.schema.fields() {
            bail!("a batch's columns differ from the Parquet file's schema");
        }
        let mut remaining = batch.clone();
        while remaining.num_rows() > 0 {
            if self.columns.is_empty() {
                self.columns = self.factory.create_column_writers(self.row_groups)?;
                self.row_groups += 1;
            }
            let room = self
                .max_rows
                .map_or(usize::MAX, |max| max - self.buffered_rows);
            let rows = remaining.num_rows().min(room);
            let piece = remaining.slice(0, rows);
            remaining = remaining.slice(rows, remaining.num_rows() - rows);
            self.encode(&piece)?;
            self.buffered_rows += rows;
            if self.max_rows.is_some_and(|max| self.buffered_rows >= max) {
                self.send_row_group()?;
            }
        }
        Ok(())
    }

    /// Hands every column of `batch` to its writer, one column per task.
    fn encode(&mut self, batch: &RecordBatch) -> Result<()> {
        let fields: Vec<_> = self.schema.fields().iter().zip(batch.columns()).collect();
        let leaves: Vec<_> = fields
            .par_iter()
            .map(|(field, column)| compute_leaves(field, column))
            .collect::<parquet::errors::Result<Vec<_>>>()?
            .into_iter()
            .flatten()
            .collect();
        if leaves.len() != self.columns.len() {
            bail!(
                "{} Parquet leaf columns for {} column writers",
                leaves.len(),
                self.columns.len()
            );
        }
        self.columns
            .par_iter_mut()
            .zip(leaves.par_iter())
            .try_for_each(|(writer, leaf)| writer.write(leaf))?;
        Ok(())
    }

    /// Closes the row group being filled (each column's last page on its own task) and sends it to
    /// the file thread.
    fn send_row_group(&mut self) -> Result<()> {
        let chunks = std::mem::take(&mut self.columns)
            .into_par_iter()
            .map(ArrowColumnWriter::close)
            .collect::<parquet::errors::Result<Vec<_>>>()?;
        self.buffered_rows = 0;
        self.to_file
            .send(ToFile::RowGroup(chunks))
            .ok()
            .context("the Parquet file writer stopped")
    }

    /// Sends the last, partly filled row group and asks for the footer.
    fn finish(&mut self) -> Result<()> {
        if self.buffered_rows > 0 {
            self.send_row_group()?;
        }
        self.to_file
            .send(ToFile::Finish)
            .ok()
            .context("the Parquet file writer stopped")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{
        ArrayRef, BooleanArray, DictionaryArray, Float64Array, Int64Array, StringArray,
    };
    use arrow::datatypes::{DataType, Field, Int32Type, Schema};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    use super::*;

    /// Batches of uneven sizes over every kind of column the writers use, with nulls and
    /// repeating names: rows `start..start + len` of one deterministic table.
    fn batch(schema: &SchemaRef, start: usize, len: usize) -> RecordBatch {
        let rows = start..start + len;
        let names = ["ADALIMUMAB", "DUPILUMAB", "Ω-3 ACID", "", "USTEKINUMAB"];
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(
                rows.clone().map(|i| names[i % 5]),
            )),
            // Nullable text with a null every seventh row.
            Arc::new(StringArray::from_iter(
                rows.clone()
                    .map(|i| (i % 7 != 0).then(|| format!("EVENT {}", i % 13))),
            )),
            Arc::new(Int64Array::from_iter_values(
                rows.clone().map(|i| (i * i) as i64),
            )),
            // Nullable floats: NaN, infinities and nulls among them.
            Arc::new(Float64Array::from_iter(rows.clone().map(|i| {
                match i % 11 {
                    0 => None,
                    1 => Some(f64::NAN),
                    2 => Some(f64::INFINITY),
                    _ => Some(i as f64 / 3.0),
                }
            }))),
            Arc::new(BooleanArray::from_iter(
                rows.clone().map(|i| (i % 5 != 4).then_some(i % 3 == 0)),
            )),
            // An Arrow dictionary column (keys into five names).
            Arc::new(DictionaryArray::<Int32Type>::new(
                rows.clone().map(|i| (i % 5) as i32).collect(),
                Arc::new(StringArray::from_iter_values(names)),
            )),
        ];
        RecordBatch::try_new(schema.clone(), columns).unwrap()
    }

    #[test]
    fn parallel_file_is_the_one_thread_file() {
        let schema: SchemaRef = Arc::new(Schema::new(vec![
            Field::new("drug", DataType::Utf8, false),
            Field::new("event", DataType::Utf8, true),
            Field::new("a", DataType::Int64, false),
            Field::new("prr", DataType::Float64, true),
            Field::new("signal", DataType::Boolean, true),
            Field::new(
                "role",
                DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                false,
            ),
        ]));
        // Row groups of 1,000 rows, pages of at most 300 rows, dictionaries on the text columns
        // only (as `vigil signals` sets them), batches that straddle the row-group boundaries.
        let props = || {
            WriterProperties::builder()
                .set_compression(parquet::basic::Compression::SNAPPY)
                .set_max_row_group_row_count(Some(1_000))
                .set_data_page_row_count_limit(300)
                .set_write_batch_size(100)
                .set_dictionary_enabled(false)
                .set_column_dictionary_enabled("drug".into(), true)
                .set_column_dictionary_enabled("role".into(), true)
                .build()
        };
        let sizes = [1, 999, 1_500, 0, 250, 2_000, 37];
        let mut batches = Vec::new();
        let mut start = 0;
        for len in sizes {
            batches.push(batch(&schema, start, len));
            start += len;
        }
        let total_rows = start;

        let mut one_thread = Vec::new();
        let mut writer =
            parquet::arrow::ArrowWriter::try_new(&mut one_thread, schema.clone(), Some(props()))
                .unwrap();
        for b in &batches {
            writer.write(b).unwrap();
        }
        writer.close().unwrap();

        let mut parallel = Vec::new();
        write_parquet(&mut parallel, schema.clone(), props(), |encoder| {
            batches.iter().try_for_each(|b| encoder.write(b))
        })
        .unwrap();

        // Decoded, the parallel file holds exactly the rows written, in row groups of 1,000.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("parallel.parquet");
        std::fs::write(&path, &parallel).unwrap();
        let reader =
            ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap()).unwrap();
        let row_groups: Vec<i64> = reader
            .metadata()
            .row_groups()
            .iter()
            .map(|g| g.num_rows())
            .collect();
        assert_eq!(row_groups, [1_000, 1_000, 1_000, 1_000, 787]);
        let decoded: Vec<RecordBatch> = reader.build().unwrap().map(Result::unwrap).collect();
        let decoded = arrow::compute::concat_batches(&schema, &decoded).unwrap();
        let written = arrow::compute::concat_batches(&schema, &batches).unwrap();
        assert_eq!(decoded.num_rows(), total_rows);
        assert_eq!(decoded, written);
        // And it is the one-thread writer's file, byte for byte.
        assert_eq!(parallel, one_thread);
    }

    #[test]
    fn an_error_while_producing_is_returned_and_no_footer_is_written() {
        let schema: SchemaRef =
            Arc::new(Schema::new(vec![Field::new("a", DataType::Int64, false)]));
        let mut out = Vec::new();
        let err = write_parquet(&mut out, schema.clone(), WriterProperties::default(), |e| {
            let column: ArrayRef = Arc::new(Int64Array::from_iter_values(0..10));
            e.write(&RecordBatch::try_new(schema.clone(), vec![column])?)?;
            anyhow::bail!("scoring failed")
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "scoring failed");
        // Only the 4-byte header "PAR1" was written: the ten rows never filled a row group, and
        // no footer (metadata, its length, "PAR1" again) follows.
        assert_eq!(out, b"PAR1");
        // A batch whose columns differ from the file's is refused.
        let other = Arc::new(Schema::new(vec![Field::new("b", DataType::Int64, false)]));
        let err = write_parquet(Vec::new(), schema, WriterProperties::default(), |e| {
            let column: ArrayRef = Arc::new(Int64Array::from_iter_values(0..10));
            e.write(&RecordBatch::try_new(other, vec![column])?)
        })
        .unwrap_err();
        assert!(err
            .to_string()
            .contains("differ from the Parquet file's schema"));
    }
}

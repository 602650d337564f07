//! A file as a table: its heading row and its data rows, each cell as the
//! file held it. CSV (RFC 4180, the delimiter found from the heading
//! line) through the `csv` crate; XLSX through calamine, its cells read
//! one by one, so that a sheet that claims a million columns costs only
//! the cells it has, and after checking what its archive unpacks to.

use std::io::Cursor;

use calamine::{DataRef, Reader, Xlsx};

/// Most data rows one file may have.
pub const ROWS_MAX: usize = 200_000;

/// Most columns one file may have.
pub const COLUMNS_MAX: usize = 256;

/// Most cells one file's rows may hold together, each row as wide as its
/// last cell: 10,000 rows of every column, or 200,000 of twelve. What
/// reading a file holds in memory is bounded by this, not by its rows.
pub const CELLS_MAX: usize = 10_000 * COLUMNS_MAX;

/// Most bytes of text one cell may hold (a spreadsheet's own limit is
/// 32,767 characters, of up to 4 bytes each).
pub const CELL_BYTES_MAX: usize = 128 * 1024;

/// Most bytes of text a workbook's cells may hold together, counting each
/// cell as [`CELL_OVERHEAD`] more: shared strings are stored once in the
/// file but copied into each cell that shows them.
pub(crate) const TEXT_BYTES_MAX: usize = 32 * 1024 * 1024;

/// What one cell costs beyond its text, for [`TEXT_BYTES_MAX`].
const CELL_OVERHEAD: usize = 32;

/// Most bytes an XLSX file's parts may unpack to.
pub(crate) const UNPACKED_BYTES_MAX: u128 = 64 * 1024 * 1024;

/// What kind of file a client sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma (or semicolon, or tab) separated values, UTF-8.
    Csv,
    /// An Office Open XML workbook.
    Xlsx,
}

impl Format {
    /// The format a request's `Content-Type` names, or else the one its
    /// bytes look like: an XLSX file is a zip archive, starting `PK`.
    pub fn of(content_type: Option<&str>, bytes: &[u8]) -> Result<Self, ReadError> {
        let essence = content_type
            .map(|ct| ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
        match essence.as_deref() {
            Some("text/csv" | "application/csv" | "text/plain") => Ok(Format::Csv),
            Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet") => {
                Ok(Format::Xlsx)
            }
            // No type, or one that says nothing of the content (curl's
            // default for `--data-binary`): the bytes tell.
            None | Some("" | "application/octet-stream" | "application/x-www-form-urlencoded")
                if bytes.starts_with(b"PK\x03\x04") =>
            {
                Ok(Format::Xlsx)
            }
            None | Some("" | "application/octet-stream" | "application/x-www-form-urlencoded") => {
                Ok(Format::Csv)
            }
            Some(other) => Err(ReadError(format!(
                "a file of type {other} cannot be imported; send text/csv or an XLSX workbook \
                 (application/vnd.openxmlformats-officedocument.spreadsheetml.sheet)"
            ))),
        }
    }
}

/// One cell as the file held it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// Nothing in it.
    Empty,
    /// Text, or a number as its shortest decimal text.
    Text(String),
    /// A spreadsheet date, as `YYYY-MM-DD`.
    Date(String),
    /// A spreadsheet error such as `#DIV/0!`.
    Error(String),
}

impl Cell {
    /// The cell as a person would read it, for error reports.
    pub fn shown(&self) -> &str {
        match self {
            Cell::Empty => "",
            Cell::Text(text) | Cell::Date(text) | Cell::Error(text) => text,
        }
    }

    /// Whether it holds nothing but spaces.
    pub fn is_blank(&self) -> bool {
        self.shown().trim().is_empty()
    }
}

/// A data row and where it is in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Its row number as a spreadsheet shows it: the heading is row 1.
    pub number: usize,
    /// Its cells, one for each heading.
    pub cells: Vec<Cell>,
}

/// A file's headings and data rows; rows with nothing in them are left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub headings: Vec<String>,
    pub rows: Vec<Row>,
}

/// Why a file could not be read as a table at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError(pub String);

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ReadError {}

/// Reads `bytes` as a table; `sheet` names an XLSX sheet (the first when
/// absent).
pub fn read(bytes: &[u8], format: Format, sheet: Option<&str>) -> Result<Table, ReadError> {
    match format {
        Format::Csv => read_csv(bytes),
        Format::Xlsx => read_xlsx(bytes, sheet),
    }
}

fn read_csv(bytes: &[u8]) -> Result<Table, ReadError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Err(err) = std::str::from_utf8(bytes) {
        let line = 1 + bytes[..err.valid_up_to()].iter().filter(|b| **b == b'\n').count();
        return Err(ReadError(format!(
            "line {line} is not UTF-8 text; save the file as CSV UTF-8 and send it again"
        )));
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter(bytes))
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut records = reader.records();
    let headings: Vec<String> = match records.next() {
        Some(Ok(record)) => {
            check_record(&record, 1)?;
            record.iter().map(|h| h.trim().to_owned()).collect()
        }
        Some(Err(err)) => return Err(csv_error(&err)),
        None => {
            return Err(ReadError("the file is empty; its first line names the columns".into()));
        }
    };
    let mut rows = Vec::new();
    // The line the last record started on, and where: records come in
    // order, so each line break is counted once.
    let (mut line, mut counted_to) = (1, 0);
    let mut n_cells = 0usize;
    for record in records {
        let record = record.map_err(|err| csv_error(&err))?;
        n_cells = n_cells.saturating_add(record.len());
        if n_cells > CELLS_MAX {
            return Err(too_many_cells());
        }
        // The line the record starts on, counting the blank lines the
        // reader skips.
        let start = record.position().map_or(0, |p| p.byte());
        let mut start = usize::try_from(start).unwrap_or(usize::MAX).min(bytes.len());
        while matches!(bytes.get(start), Some(b'\n' | b'\r')) {
            start += 1;
        }
        let start = start.max(counted_to);
        line += bytes[counted_to..start].iter().filter(|b| **b == b'\n').count();
        counted_to = start;
        let number = line;
        check_record(&record, number)?;
        let cells = record
            .iter()
            .map(|value| if value.is_empty() { Cell::Empty } else { Cell::Text(value.to_owned()) })
            .collect();
        push_row(&mut rows, number, cells)?;
    }
    table(headings, rows)
}

/// A CSV record within the bounds of a row: at most [`COLUMNS_MAX`]
/// cells, each of at most [`CELL_BYTES_MAX`].
fn check_record(record: &csv::StringRecord, line: usize) -> Result<(), ReadError> {
    if record.len() > COLUMNS_MAX {
        return Err(ReadError(format!(
            "line {line} has {} cells, more than the {COLUMNS_MAX} columns an import reads",
            record.len()
        )));
    }
    if record.iter().any(|cell| cell.len() > CELL_BYTES_MAX) {
        return Err(ReadError(format!(
            "line {line} has a cell of more than {} KiB of text",
            CELL_BYTES_MAX / 1024
        )));
    }
    Ok(())
}

/// The delimiter of a CSV file: whichever of comma, semicolon and tab its
/// heading line has most of (outside quotes); a comma if none.
fn delimiter(bytes: &[u8]) -> u8 {
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for byte in bytes {
        match byte {
            b'\n' if !quoted => break,
            b'"' => quoted = !quoted,
            byte if !quoted => {
                if let Some(count) = counts.iter_mut().find(|(d, _)| d == byte) {
                    count.1 += 1;
                }
            }
            _ => {}
        }
    }
    counts.iter().max_by_key(|(d, n)| (*n, *d == b',')).map_or(b',', |(d, _)| *d)
}

fn csv_error(err: &csv::Error) -> ReadError {
    let line = err.position().map(|p| format!("line {}: ", p.line())).unwrap_or_default();
    ReadError(format!("{line}the file is not readable as CSV: {err}"))
}

fn read_xlsx(bytes: &[u8], sheet: Option<&str>) -> Result<Table, ReadError> {
    let not_a_workbook = |err: &dyn std::fmt::Display| {
        ReadError(format!("the file is not a readable XLSX workbook: {err}"))
    };
    let mut archive =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|err| not_a_workbook(&err))?;
    // The central directory's sizes, which bound what reading each part
    // may unpack to.
    let mut unpacked = 0u128;
    for index in 0..archive.len() {
        let part = archive.by_index_raw(index).map_err(|err| not_a_workbook(&err))?;
        unpacked = unpacked.saturating_add(u128::from(part.size()));
    }
    match unpacked {
        size if size <= UNPACKED_BYTES_MAX => {}
        _ => {
            return Err(ReadError(format!(
                "the workbook unpacks to more than {} MiB; import it in smaller files, or as CSV",
                UNPACKED_BYTES_MAX / (1024 * 1024)
            )));
        }
    }
    let mut book: Xlsx<_> =
        calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(|err| not_a_workbook(&err))?;
    let names = book.sheet_names();
    let name = match sheet {
        Some(wanted) => names.iter().find(|n| n.as_str() == wanted).cloned().ok_or_else(|| {
            ReadError(format!("the workbook has no sheet {wanted:?}; it has {}", names.join(", ")))
        })?,
        None => {
            names.first().cloned().ok_or_else(|| ReadError("the workbook has no sheet".into()))?
        }
    };
    let mut reader = book.worksheet_cells_reader(&name).map_err(|err| not_a_workbook(&err))?;
    // Sparse cells, checked against the bounds before any row exists, and
    // each cell's text before it is copied out of the workbook.
    let mut cells: Vec<(u32, u32, Cell)> = Vec::new();
    let mut text_bytes = 0usize;
    while let Some(cell) = reader.next_cell().map_err(|err| not_a_workbook(&err))? {
        let (row, column) = cell.get_position();
        let length = text_length(cell.get_value());
        if length > CELL_BYTES_MAX {
            return Err(ReadError(format!(
                "sheet {name}: cell {}{} holds more than {} KiB of text",
                column_letter(usize::try_from(column).unwrap_or(usize::MAX)),
                u64::from(row) + 1,
                CELL_BYTES_MAX / 1024
            )));
        }
        text_bytes = text_bytes.saturating_add(length + CELL_OVERHEAD);
        if text_bytes > TEXT_BYTES_MAX {
            return Err(ReadError(format!(
                "sheet {name}: its cells hold more than {} MiB of text; import it in smaller files",
                TEXT_BYTES_MAX / (1024 * 1024)
            )));
        }
        let value = xlsx_cell(cell.get_value());
        if value == Cell::Empty {
            continue;
        }
        if usize::try_from(column).map_or(true, |c| c >= COLUMNS_MAX) {
            return Err(ReadError(format!(
                "sheet {name}: a cell in column {} is past the {COLUMNS_MAX} columns an import reads",
                column.saturating_add(1)
            )));
        }
        if usize::try_from(row).map_or(true, |r| r > ROWS_MAX) {
            return Err(too_many_rows());
        }
        cells.push((row, column, value));
    }
    cells.sort_by_key(|(row, column, _)| (*row, *column));
    let first = cells.first().map_or(0, |(row, _, _)| *row);
    let width =
        cells.iter().filter(|(row, ..)| *row == first).map(|(_, c, _)| *c as usize + 1).max();
    let Some(width) = width else {
        return Err(ReadError(format!("sheet {name} is empty; its first row names the columns")));
    };
    let mut headings = vec![String::new(); width];
    let mut rows: Vec<Row> = Vec::new();
    let mut n_cells = 0usize;
    for (row, column, value) in cells {
        let column = column as usize;
        if row == first {
            headings[column] = value.shown().trim().to_owned();
            continue;
        }
        let number = row as usize + 1;
        if rows.last().is_none_or(|last| last.number != number) {
            rows.push(Row { number, cells: Vec::new() });
        }
        let Some(current) = rows.last_mut() else { continue };
        if current.cells.len() <= column {
            // A row is as wide as its last cell: a cell far to the right
            // costs every empty one before it.
            n_cells = n_cells.saturating_add(column + 1 - current.cells.len());
            if n_cells > CELLS_MAX {
                return Err(too_many_cells());
            }
            current.cells.resize(column + 1, Cell::Empty);
        }
        current.cells[column] = value;
    }
    table(headings, rows)
}

/// The bytes of text a cell's value holds (numbers and dates: a few).
fn text_length(value: &DataRef<'_>) -> usize {
    match value {
        DataRef::String(text) | DataRef::DateTimeIso(text) | DataRef::DurationIso(text) => {
            text.len()
        }
        DataRef::SharedString(text) => text.len(),
        _ => 0,
    }
}

/// A column's letter as a spreadsheet shows it: A, B, …, Z, AA.
pub(crate) fn column_letter(index: usize) -> String {
    let mut n = index.saturating_add(1);
    let mut letters = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(char::from(b'A' + u8::try_from(rem).unwrap_or(0)));
        n = (n - 1) / 26;
    }
    letters.iter().rev().collect()
}

fn xlsx_cell(value: &DataRef<'_>) -> Cell {
    match value {
        DataRef::Empty => Cell::Empty,
        DataRef::Int(n) => Cell::Text(n.to_string()),
        DataRef::Float(x) => Cell::Text(float_text(*x)),
        DataRef::String(text) | DataRef::DateTimeIso(text) | DataRef::DurationIso(text) => {
            Cell::Text(text.clone())
        }
        DataRef::SharedString(text) => Cell::Text((*text).to_owned()),
        DataRef::Bool(b) => Cell::Text(b.to_string()),
        DataRef::DateTime(at) if at.is_datetime() => {
            let (year, month, day, ..) = at.to_ymd_hms_milli();
            let text = format!("{year:04}-{month:02}-{day:02}");
            match keel_values::date::Date::parse(&text) {
                Ok(_) => Cell::Date(text),
                Err(_) => Cell::Text(at.as_f64().to_string()),
            }
        }
        DataRef::DateTime(at) => Cell::Text(at.as_f64().to_string()),
        DataRef::Error(err) => Cell::Error(err.to_string()),
    }
}

/// A spreadsheet number as the shortest decimal text that reads back as
/// it: `1234.5`, not `1234.5000000001`, and `12` rather than `12.0`.
fn float_text(x: f64) -> String {
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        x.to_string()
    }
}

fn too_many_rows() -> ReadError {
    ReadError(format!(
        "the file has more than {ROWS_MAX} rows; split it into files of at most {ROWS_MAX} rows"
    ))
}

fn too_many_cells() -> ReadError {
    ReadError(format!(
        "the file has more than {CELLS_MAX} cells (rows times columns, up to the last cell of each row); split it into smaller files, or leave out the columns the import does not read"
    ))
}

fn push_row(rows: &mut Vec<Row>, number: usize, cells: Vec<Cell>) -> Result<(), ReadError> {
    if cells.iter().all(Cell::is_blank) {
        return Ok(());
    }
    if rows.len() >= ROWS_MAX {
        return Err(too_many_rows());
    }
    rows.push(Row { number, cells });
    Ok(())
}

/// The table, once its headings are checked; blank rows dropped.
fn table(headings: Vec<String>, rows: Vec<Row>) -> Result<Table, ReadError> {
    if headings.len() > COLUMNS_MAX {
        return Err(ReadError(format!("the file has more than {COLUMNS_MAX} columns")));
    }
    if headings.iter().all(String::is_empty) {
        return Err(ReadError("the first row names no column; it must hold the headings".into()));
    }
    let mut seen = std::collections::HashSet::new();
    for heading in headings.iter().filter(|h| !h.is_empty()) {
        if !seen.insert(heading.to_lowercase()) {
            return Err(ReadError(format!("two columns are headed {heading:?}; rename one")));
        }
    }
    let rows: Vec<Row> =
        rows.into_iter().filter(|row| !row.cells.iter().all(Cell::is_blank)).collect();
    if rows.len() > ROWS_MAX {
        return Err(too_many_rows());
    }
    Ok(Table { headings, rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_reads_with_the_delimiter_of_its_heading_line() {
        let table =
            read(b"\xEF\xBB\xBFcode;name\n1000;\"Cash; petty\"\n\n2000;Bank\n", Format::Csv, None)
                .unwrap();
        assert_eq!(table.headings, ["code", "name"]);
        assert_eq!(table.rows.len(), 2);
        assert_eq!(table.rows[0].cells[1], Cell::Text("Cash; petty".into()));
        // The blank line is skipped, and rows keep the file's numbering.
        assert_eq!(table.rows[1].number, 4);
        let tabs = read(b"a\tb\n1\t2\n", Format::Csv, None).unwrap();
        assert_eq!(tabs.rows[0].cells, [Cell::Text("1".into()), Cell::Text("2".into())]);
    }

    #[test]
    fn files_that_cannot_be_tables_are_refused_with_a_reason() {
        let err = read(b"code,name\n1000,Caf\xE9\n", Format::Csv, None).unwrap_err();
        assert!(err.0.contains("line 2 is not UTF-8"), "{err}");
        let err = read(b"code,Code\n1,2\n", Format::Csv, None).unwrap_err();
        assert!(err.0.contains("two columns"), "{err}");
        assert!(read(b"", Format::Csv, None).unwrap_err().0.contains("empty"));
        let many = format!("a\n{}", "1\n".repeat(ROWS_MAX + 1));
        assert!(read(many.as_bytes(), Format::Csv, None).unwrap_err().0.contains("more than"));
        let wide = format!("a,b,c,d,e,f,g,h,i,j,k,l,m\n{}", ",,,,,,,,,,,,1\n".repeat(200_000));
        let err = read(wide.as_bytes(), Format::Csv, None).unwrap_err();
        assert!(err.0.contains("cells"), "200,000 rows of 13 columns: {err}");
        assert!(read(b"PK\x03\x04nonsense", Format::Xlsx, None).unwrap_err().0.contains("XLSX"));
    }

    #[test]
    fn formats_come_from_the_content_type_or_the_bytes() {
        assert_eq!(Format::of(Some("text/csv; charset=utf-8"), b"PK"), Ok(Format::Csv));
        assert_eq!(Format::of(None, b"PK\x03\x04..."), Ok(Format::Xlsx));
        assert_eq!(Format::of(Some("application/octet-stream"), b"a,b"), Ok(Format::Csv));
        assert!(Format::of(Some("application/json"), b"{}").is_err());
    }

    #[test]
    fn xlsx_reads_numbers_dates_and_sparse_rows() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        let date = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
        sheet.write(0, 0, "Account").unwrap();
        sheet.write(0, 1, "Debit").unwrap();
        sheet.write(0, 3, "Opened").unwrap();
        sheet.write(1, 0, "1000").unwrap();
        sheet.write(1, 1, 1234.5).unwrap();
        let opened = rust_xlsxwriter::ExcelDateTime::from_ymd(2026, 1, 31).unwrap();
        sheet.write_with_format(1, 3, &opened, &date).unwrap();
        sheet.write(3, 1, 12.0).unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let table = read(&bytes, Format::Xlsx, None).unwrap();
        assert_eq!(table.headings, ["Account", "Debit", "", "Opened"]);
        assert_eq!(table.rows.len(), 2);
        assert_eq!(table.rows[0].cells[1], Cell::Text("1234.5".into()));
        assert_eq!(table.rows[0].cells[3], Cell::Date("2026-01-31".into()));
        assert_eq!((table.rows[1].number, &table.rows[1].cells[1]), (4, &Cell::Text("12".into())));
        let err = read(&bytes, Format::Xlsx, Some("Nope")).unwrap_err();
        assert!(err.0.contains("no sheet \"Nope\""), "{err}");
    }

    #[test]
    fn a_cell_far_outside_the_bounds_is_refused_before_any_row_is_made() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write(0, 0, "code").unwrap();
        sheet.write(1_000_000, 0, "x").unwrap();
        let bytes = book.save_to_buffer().unwrap();
        assert!(read(&bytes, Format::Xlsx, None).unwrap_err().0.contains("rows"));
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write(0, 0, "code").unwrap();
        sheet.write(1, 16_000, "x").unwrap();
        let bytes = book.save_to_buffer().unwrap();
        assert!(read(&bytes, Format::Xlsx, None).unwrap_err().0.contains("columns"));
        // A cell in the last column of every row: small on the wire, and
        // each row as wide as the sheet once read.
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write(0, 0, "code").unwrap();
        for row in 1..=(CELLS_MAX / COLUMNS_MAX + 1) {
            let row = u32::try_from(row).unwrap();
            sheet.write(row, u16::try_from(COLUMNS_MAX - 1).unwrap(), 1).unwrap();
        }
        let bytes = book.save_to_buffer().unwrap();
        let err = read(&bytes, Format::Xlsx, None).unwrap_err();
        assert!(err.0.contains("cells"), "{err}");
    }

    #[test]
    fn a_workbook_whose_cells_would_copy_one_string_past_the_bounds_is_refused() {
        // One long shared string, stored once and written in many cells:
        // small on the wire, each cell its own copy once read.
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write(0, 0, "name").unwrap();
        sheet.write(1, 0, "short").unwrap();
        let bytes = book.save_to_buffer().unwrap();
        // No spreadsheet writes so long a cell; a hostile file can.
        let bytes =
            rewritten(&bytes, "xl/sharedStrings.xml", "short", &"x".repeat(CELL_BYTES_MAX + 1));
        let err = read(&bytes, Format::Xlsx, None).unwrap_err();
        assert!(err.0.contains("cell A2") && err.0.contains("KiB"), "{err}");

        let text = "y".repeat(32_767);
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write(0, 0, "name").unwrap();
        for row in 1..=(TEXT_BYTES_MAX / text.len() + 1) {
            sheet.write(u32::try_from(row).unwrap(), 0, text.as_str()).unwrap();
        }
        let bytes = book.save_to_buffer().unwrap();
        assert!(bytes.len() < 1024 * 1024, "the shared string is stored once");
        let err = read(&bytes, Format::Xlsx, None).unwrap_err();
        assert!(err.0.contains("MiB of text"), "{err}");
    }

    /// `bytes`, a workbook, with `from` replaced by `to` in its part `name`
    /// (the parts stored uncompressed).
    fn rewritten(bytes: &[u8], name: &str, from: &str, to: &str) -> Vec<u8> {
        use std::io::{Read, Write};
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let stored = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for index in 0..archive.len() {
            let mut part = archive.by_index(index).unwrap();
            let part_name = part.name().unwrap().into_owned();
            let mut text = Vec::new();
            part.read_to_end(&mut text).unwrap();
            if part_name == name {
                text = String::from_utf8(text).unwrap().replace(from, to).into_bytes();
            }
            out.start_file(part_name, stored).unwrap();
            out.write_all(&text).unwrap();
        }
        out.finish().unwrap().into_inner()
    }

    #[test]
    fn a_csv_record_wider_than_an_import_reads_or_a_cell_longer_is_refused() {
        let wide = format!("code\n{}\n", "x,".repeat(COLUMNS_MAX + 1));
        let err = read(wide.as_bytes(), Format::Csv, None).unwrap_err();
        assert!(err.0.contains("line 2") && err.0.contains("columns"), "{err}");
        let long = format!("code\n{}\n", "x".repeat(CELL_BYTES_MAX + 1));
        let err = read(long.as_bytes(), Format::Csv, None).unwrap_err();
        assert!(err.0.contains("line 2") && err.0.contains("KiB"), "{err}");
    }

    #[test]
    fn csv_rows_are_numbered_by_their_line_past_blank_lines_and_quoted_breaks() {
        let text = "code,name\n\n1,\"two\nlines\"\n \n\r\n2,b\n";
        let table = read(text.as_bytes(), Format::Csv, None).unwrap();
        let numbers: Vec<usize> = table.rows.iter().map(|row| row.number).collect();
        assert_eq!(numbers, [3, 7]);
    }

    #[test]
    fn spreadsheet_numbers_read_as_their_shortest_text() {
        assert_eq!(float_text(1234.5), "1234.5");
        assert_eq!(float_text(-3.0), "-3");
        assert_eq!(float_text(0.1 + 0.2), "0.30000000000000004");
    }
}

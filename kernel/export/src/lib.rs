//! Exports: a plugin's JSON answer rendered, by the columns its operation
//! declares in its manifest ([`keel_manifest::Export`]), as a file a person
//! opens. The plugin answers JSON as always; the gateway asks for the
//! format the client wants ([`Format::wanted`]) and sends what [`render`]
//! gives.
//!
//! - `cells`: a row's value for a column, as its declared type reads it:
//!   text, an exact decimal, a whole number, a date.
//! - `csv`: RFC 4180, with a guard against cells a spreadsheet would run
//!   as formulas ([`csv_field`], which the audit export uses too).
//! - `xlsx`: a workbook with a bold, frozen header row, real numbers and
//!   dates, and a totals row where columns declare them (rust_xlsxwriter,
//!   this crate being its one owner).
//! - `pdf`: pages laid out for printing, with the title, tenant,
//!   parameters, page numbers and totals (pdf-writer, its one owner).

mod cells;
mod csv;
mod pdf;
mod xlsx;

use keel_manifest::Export;

pub use csv::field as csv_field;

/// A format an operation's answer can be exported in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
    Pdf,
}

/// What a printed export says of itself.
#[derive(Debug, Clone, Copy)]
pub struct Heading<'a> {
    /// The operation's id: the export's title unless it declares one.
    pub operation: &'a str,
    pub tenant: &'a str,
    /// The request's parameters, as the query gave them.
    pub parameters: &'a str,
}

/// The media type of XLSX.
const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

impl Format {
    /// The format `?format=` names (`csv`, `xlsx`; `json` is the answer
    /// itself): `Ok(None)` for JSON, `Err` for a format there is none of.
    pub fn named(name: &str) -> Result<Option<Self>, String> {
        match name {
            "json" => Ok(None),
            "csv" => Ok(Some(Self::Csv)),
            "xlsx" => Ok(Some(Self::Xlsx)),
            "pdf" => Ok(Some(Self::Pdf)),
            other => Err(format!(
                "format {other:?} is not one the kernel writes; ask for json, csv, xlsx or pdf"
            )),
        }
    }

    /// The export format an `Accept` header asks for first, if any (JSON
    /// and anything else: none).
    pub fn accepted(accept: &str) -> Option<Self> {
        accept.split(',').map(|t| t.split(';').next().unwrap_or_default().trim()).find_map(
            |media| match media {
                "text/csv" => Some(Self::Csv),
                XLSX_TYPE => Some(Self::Xlsx),
                "application/pdf" => Some(Self::Pdf),
                _ => None,
            },
        )
    }

    /// What the client wants: `?format=` first, else the `Accept` header.
    pub fn wanted(query: Option<&str>, accept: Option<&str>) -> Result<Option<Self>, String> {
        match query {
            Some(name) => Self::named(name),
            None => Ok(accept.and_then(Self::accepted)),
        }
    }

    /// Its media type.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Xlsx => XLSX_TYPE,
            Self::Pdf => "application/pdf",
        }
    }

    /// Its file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Xlsx => "xlsx",
            Self::Pdf => "pdf",
        }
    }
}

/// The JSON `answer` of the operation `heading` names rendered in `format`
/// by its `export`; fails, saying why, if the answer has no array of rows
/// where the export says.
pub fn render(
    format: Format,
    answer: &[u8],
    export: &Export,
    heading: &Heading<'_>,
) -> Result<Vec<u8>, String> {
    let (rows, _) = page(answer, export)?;
    render_rows(format, &rows, export, heading)
}

/// `rows` (of one answer or of every page) rendered in `format`.
pub fn render_rows(
    format: Format,
    rows: &[serde_json::Value],
    export: &Export,
    heading: &Heading<'_>,
) -> Result<Vec<u8>, String> {
    match format {
        Format::Csv => Ok(csv::render(export, rows, true).into_bytes()),
        Format::Xlsx => {
            xlsx::render(export, rows, export.title.as_deref().unwrap_or(heading.operation))
        }
        Format::Pdf => pdf::render(export, rows, heading),
    }
}

/// One page of an answer: its rows, and the cursor to the next page if
/// the export follows one and the answer gives it.
pub fn page(
    answer: &[u8],
    export: &Export,
) -> Result<(Vec<serde_json::Value>, Option<String>), String> {
    let mut value: serde_json::Value =
        serde_json::from_slice(answer).map_err(|err| format!("the answer is not JSON: {err}"))?;
    let next = export
        .cursor
        .as_ref()
        .and_then(|pointer| value.pointer(pointer))
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    let rows = value
        .pointer_mut(&export.rows)
        .and_then(serde_json::Value::as_array_mut)
        .map(std::mem::take)
        .ok_or_else(|| format!("the answer has no array at {}", export.rows))?;
    Ok((rows, next))
}

/// `rows` as CSV lines, after the header row if `header`: one page of a
/// CSV export that streams page by page.
pub fn csv_lines(export: &Export, rows: &[serde_json::Value], header: bool) -> String {
    csv::render(export, rows, header)
}

#[cfg(test)]
mod tests;

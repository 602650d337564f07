//! XLSX: one sheet named after the export, a bold header row frozen above
//! the rows and an autofilter on it, each column's values as their type
//! reads them (numbers and dates as such, so that they sort and add up;
//! text always as text, never a formula), widths to fit, and a bold
//! totals row of `SUM` formulas for the columns that declare a total, each
//! carrying the exact decimal sum as its result.

use keel_manifest::{ColumnType, Export};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use rust_xlsxwriter::{ExcelDateTime, Format, Formula, Workbook, XlsxError};
use serde_json::Value;

use crate::cells::{Cell, cell};

/// Most rows one sheet holds, less the header and totals rows.
const ROWS_MAX: usize = 1_048_576 - 2;
/// Narrowest and widest a column is set, in characters.
const WIDTH: (usize, usize) = (8, 60);

/// The rows as a workbook by `export`'s columns, its sheet called `title`.
pub(crate) fn render(export: &Export, rows: &[Value], title: &str) -> Result<Vec<u8>, String> {
    if rows.len() > ROWS_MAX {
        return Err(format!("{} rows are more than one sheet holds ({ROWS_MAX})", rows.len()));
    }
    write(export, rows, title).map_err(|err| format!("writing the workbook failed: {err}"))
}

fn write(export: &Export, rows: &[Value], title: &str) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name(sheet_name(title))?;
    let bold = Format::new().set_bold();
    let header = Format::new().set_bold().set_border_bottom(rust_xlsxwriter::FormatBorder::Thin);
    let formats: Vec<Format> =
        export.columns.iter().map(|c| number_format(c.kind, c.places)).collect();
    let mut widths: Vec<usize> =
        export.columns.iter().map(|c| c.name.trim().chars().count()).collect();
    let mut totals: Vec<Decimal> = vec![Decimal::ZERO; export.columns.len()];
    for (col, column) in export.columns.iter().enumerate() {
        sheet.write_string_with_format(0, col_num(col), column.name.trim(), &header)?;
    }
    for (r, row) in rows.iter().enumerate() {
        let at = row_num(r + 1);
        for (col, column) in export.columns.iter().enumerate() {
            let c = col_num(col);
            let shown = match cell(column, row) {
                Cell::Empty => 0,
                Cell::Text(text) => {
                    sheet.write_string(at, c, &text)?;
                    text.chars().count()
                }
                Cell::Number(number) => {
                    totals[col] += number;
                    sheet.write_number_with_format(at, c, to_f64(number), &formats[col])?;
                    number.to_string().len() + 3
                }
                Cell::Date { year, month, day } => {
                    match ExcelDateTime::from_ymd(year, month, day) {
                        Ok(date) => {
                            sheet.write_datetime_with_format(at, c, &date, &formats[col])?;
                            10
                        }
                        Err(_) => {
                            let text = format!("{year:04}-{month:02}-{day:02}");
                            sheet.write_string(at, c, &text)?;
                            10
                        }
                    }
                }
            };
            widths[col] = widths[col].max(shown);
        }
    }
    if export.columns.iter().any(|c| c.total) {
        let at = row_num(rows.len() + 1);
        if export.columns.first().is_some_and(|c| !c.total) {
            sheet.write_string_with_format(at, 0, "Total", &bold)?;
        }
        for (col, _) in export.columns.iter().enumerate().filter(|(_, c)| c.total) {
            let letter = column_letter(col);
            let sum = format!("=SUM({letter}2:{letter}{})", rows.len() + 1);
            let formula = Formula::new(sum).set_result(totals[col].to_string());
            let format = formats[col].clone().set_bold();
            sheet.write_formula_with_format(at, col_num(col), formula, &format)?;
        }
    }
    for (col, width) in widths.iter().enumerate() {
        let width = (*width + 2).clamp(WIDTH.0, WIDTH.1);
        sheet.set_column_width(col_num(col), u32::try_from(width).unwrap_or(60))?;
    }
    if !export.columns.is_empty() {
        let last_row = row_num(rows.len().max(1));
        sheet.autofilter(0, 0, last_row, col_num(export.columns.len() - 1))?;
    }
    sheet.set_freeze_panes(1, 0)?;
    workbook.save_to_buffer()
}

/// The number format of a column: grouped thousands, its places for a
/// decimal (two unless it says), none for a whole number, ISO dates.
fn number_format(kind: ColumnType, places: Option<u8>) -> Format {
    match kind {
        ColumnType::Decimal => {
            let places = usize::from(places.unwrap_or(2));
            let decimals =
                if places == 0 { String::new() } else { format!(".{}", "0".repeat(places)) };
            Format::new().set_num_format(format!("#,##0{decimals}"))
        }
        ColumnType::Integer => Format::new().set_num_format("#,##0"),
        ColumnType::Date => Format::new().set_num_format("yyyy-mm-dd"),
        ColumnType::Text => Format::new(),
    }
}

/// A spreadsheet's number for an exact decimal: amounts below 10^15 with
/// up to four places, as Keel keeps them, read back to the same digits.
fn to_f64(number: Decimal) -> f64 {
    number.to_f64().unwrap_or_default()
}

/// A sheet's name: at most 31 characters, none of `[]:*?/\`.
fn sheet_name(title: &str) -> String {
    let name: String = title
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) || c.is_control() { '-' } else { c })
        .take(31)
        .collect();
    let name = name.trim_matches('\'').trim().to_owned();
    if name.is_empty() { "Export".to_owned() } else { name }
}

/// The letters of column `col` (0 is `A`, 26 is `AA`).
fn column_letter(col: usize) -> String {
    let mut n = col + 1;
    let mut letters = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(char::from(b'A' + u8::try_from(rem).unwrap_or(0)));
        n = (n - 1) / 26;
    }
    letters.iter().rev().collect()
}

fn row_num(row: usize) -> u32 {
    u32::try_from(row).unwrap_or(u32::MAX)
}

fn col_num(col: usize) -> u16 {
    u16::try_from(col).unwrap_or(u16::MAX)
}

//! PDF laid out for printing, with pdf-writer (small, with no dependencies
//! of weight, kept by the Typst project; the crates that lay out text for
//! you pull in a layout engine and font discovery): Helvetica, one of the
//! fonts every PDF reader has, so nothing is embedded. Each page has the
//! title and the tenant, the first the request's parameters, every one the
//! columns' headings and its number of the whole ("page 2 of 5"); numbers
//! are right-aligned with their declared places and grouped thousands,
//! rounded for print from the exact decimals; the last page ends with the
//! totals. A page turns to landscape when its columns need it, and text
//! too wide for its column is cut with an ellipsis.

use keel_manifest::{ColumnType, Export};
use pdf_writer::{Content, Name, Pdf, Rect, Ref, Str};
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::Value;

use crate::Heading;
use crate::cells::{Cell, cell};

/// A4, in points.
const PORTRAIT: (f32, f32) = (595.0, 842.0);
const MARGIN: f32 = 36.0;
const TEXT_SIZE: f32 = 8.0;
const TITLE_SIZE: f32 = 13.0;
const ROW: f32 = 11.0;
/// Room each side of a cell's text.
const PAD: f32 = 3.0;
/// The widest a text column starts, in characters of its values.
const TEXT_CHARS_MAX: usize = 40;
/// Most pages one export prints.
const PAGES_MAX: usize = 2_000;

/// Helvetica's widths of the printable ASCII characters, in thousandths of
/// the font size (from its Adobe font metrics).
const WIDTHS: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // ' '../
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, // 0-9
    278, 278, 584, 584, 584, 556, 1015, // :..@
    667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667,
    611, 722, 667, 944, 667, 667, 611, // A-Z
    278, 278, 278, 469, 556, 333, // [..`
    556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500,
    278, 556, 500, 722, 500, 500, 500, // a-z
    334, 260, 334, 584, // {..~
];

/// The width of `text` at `size` points, in Helvetica (bold a little wider).
fn width(text: &str, size: f32, bold: bool) -> f32 {
    let thousandths: u32 = text
        .chars()
        .map(|c| match u32::from(c) {
            code @ 32..=126 => u32::from(WIDTHS[(code - 32) as usize]),
            _ => 556,
        })
        .sum();
    let scale = if bold { 1.06 } else { 1.0 };
    thousandths as f32 * size / 1000.0 * scale
}

/// `text` in WinAnsiEncoding, as the standard fonts read it: Latin-1 and
/// the euro sign as themselves, anything else as `?`.
fn encoded(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match u32::from(c) {
            code @ (32..=126 | 0xA0..=0xFF) => u8::try_from(code).unwrap_or(b'?'),
            0x20AC => 0x80,
            0x2026 => 0x85,
            0x2013 => 0x96,
            0x2014 => 0x97,
            _ => b'?',
        })
        .collect()
}

/// `text` cut, with an ellipsis, to fit `room` points.
fn fitted(text: &str, room: f32, bold: bool) -> String {
    if width(text, TEXT_SIZE, bold) <= room {
        return text.to_owned();
    }
    let mut cut: String = text.to_owned();
    while !cut.is_empty() && width(&format!("{cut}\u{2026}"), TEXT_SIZE, bold) > room {
        cut.pop();
    }
    format!("{cut}\u{2026}")
}

/// A number for print: rounded half away from zero to `places`, thousands
/// grouped with commas.
fn printed(number: Decimal, places: u32) -> String {
    let rounded = number.round_dp_with_strategy(places, RoundingStrategy::MidpointAwayFromZero);
    let text = format!("{rounded:.prec$}", prec = places as usize);
    let (sign, digits) = text.strip_prefix('-').map_or(("", text.as_str()), |d| ("-", d));
    let (whole, fraction) = digits.split_once('.').map_or((digits, None), |(w, f)| (w, Some(f)));
    let mut grouped = String::new();
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    match fraction {
        Some(fraction) => format!("{sign}{grouped}.{fraction}"),
        None => format!("{sign}{grouped}"),
    }
}

/// A cell as printed, and whether it is right-aligned.
fn shown(cell: Cell, kind: ColumnType, places: u32) -> (String, bool) {
    match cell {
        Cell::Empty => (String::new(), false),
        Cell::Text(text) => (text, false),
        Cell::Number(number) => {
            let places = if kind == ColumnType::Integer { 0 } else { places };
            (printed(number, places), true)
        }
        Cell::Date { year, month, day } => (format!("{year:04}-{month:02}-{day:02}"), false),
    }
}

/// The rows as a PDF by `export`'s columns.
pub(crate) fn render(
    export: &Export,
    rows: &[Value],
    heading: &Heading<'_>,
) -> Result<Vec<u8>, String> {
    let places: Vec<u32> =
        export.columns.iter().map(|c| u32::from(c.places.unwrap_or(2))).collect();
    let mut totals = vec![Decimal::ZERO; export.columns.len()];
    let mut table: Vec<Vec<(String, bool)>> = Vec::with_capacity(rows.len());
    for row in rows {
        let mut line = Vec::with_capacity(export.columns.len());
        for (col, column) in export.columns.iter().enumerate() {
            let value = cell(column, row);
            if let Cell::Number(number) = &value {
                totals[col] += *number;
            }
            line.push(shown(value, column.kind, places[col]));
        }
        table.push(line);
    }
    let total_line: Option<Vec<(String, bool)>> =
        export.columns.iter().any(|c| c.total).then(|| {
            export
                .columns
                .iter()
                .enumerate()
                .map(|(col, column)| {
                    if column.total {
                        shown(Cell::Number(totals[col]), column.kind, places[col])
                    } else if col == 0 {
                        ("Total".to_owned(), false)
                    } else {
                        (String::new(), false)
                    }
                })
                .collect()
        });

    // Each column as wide as its widest value (text within reason).
    let mut widths: Vec<f32> =
        export.columns.iter().map(|c| width(c.name.trim(), TEXT_SIZE, true)).collect();
    for line in table.iter().chain(total_line.iter()) {
        for (col, (text, _)) in line.iter().enumerate() {
            let sample: String = text.chars().take(TEXT_CHARS_MAX).collect();
            widths[col] = widths[col].max(width(&sample, TEXT_SIZE, true));
        }
    }
    let natural: f32 = widths.iter().map(|w| w + 2.0 * PAD).sum();
    let page =
        if natural > PORTRAIT.0 - 2.0 * MARGIN { (PORTRAIT.1, PORTRAIT.0) } else { PORTRAIT };
    let room = page.0 - 2.0 * MARGIN;
    if natural > room {
        // Text columns give up width in proportion; numbers keep theirs.
        let numbers: f32 = export
            .columns
            .iter()
            .zip(&widths)
            .filter(|(c, _)| c.kind.is_number())
            .map(|(_, w)| w + 2.0 * PAD)
            .sum();
        let texts = natural - numbers;
        let scale = ((room - numbers) / texts).max(0.1);
        for (column, w) in export.columns.iter().zip(widths.iter_mut()) {
            if !column.kind.is_number() {
                *w = (*w + 2.0 * PAD) * scale - 2.0 * PAD;
            }
        }
    }

    let title = export.title.as_deref().unwrap_or(heading.operation);
    let top = page.1 - MARGIN;
    let first_rows = ((top - 3.0 * ROW - 2.0 * ROW - MARGIN - ROW) / ROW).floor().max(1.0) as usize;
    let other_rows = ((top - 2.0 * ROW - MARGIN - ROW) / ROW).floor().max(1.0) as usize;
    let lines = table.len() + usize::from(total_line.is_some());
    let pages = if lines <= first_rows { 1 } else { 1 + (lines - first_rows).div_ceil(other_rows) };
    if pages > PAGES_MAX {
        return Err(format!(
            "{} rows would print {pages} pages, more than {PAGES_MAX}",
            rows.len()
        ));
    }

    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let (regular, bold) = (Ref::new(3), Ref::new(4));
    let info = Ref::new(5);
    let first_page = 6;
    let page_ref = |n: usize| Ref::new(i32::try_from(first_page + 2 * n).unwrap_or(i32::MAX));
    let content_ref =
        |n: usize| Ref::new(i32::try_from(first_page + 2 * n + 1).unwrap_or(i32::MAX));
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids((0..pages).map(page_ref)).count(i32::try_from(pages).unwrap_or(i32::MAX));
    for (id, name) in [(regular, "Helvetica"), (bold, "Helvetica-Bold")] {
        pdf.type1_font(id)
            .base_font(Name(name.as_bytes()))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    pdf.document_info(info).title(pdf_writer::TextStr(title)).producer(pdf_writer::TextStr("Keel"));

    let mut lines_left = table.iter().chain(total_line.iter()).enumerate().peekable();
    for n in 0..pages {
        let mut content = Content::new();
        let text = |content: &mut Content, x: f32, y: f32, size: f32, bold_font: bool, s: &str| {
            content.begin_text();
            content.set_font(Name(if bold_font { b"F2" } else { b"F1" }), size);
            content.next_line(x, y);
            content.show(Str(&encoded(s)));
            content.end_text();
        };
        let mut y = top - TITLE_SIZE;
        text(&mut content, MARGIN, y, TITLE_SIZE, true, title);
        y -= ROW + 2.0;
        text(&mut content, MARGIN, y, TEXT_SIZE, false, &format!("Tenant {}", heading.tenant));
        if n == 0 && !heading.parameters.is_empty() {
            y -= ROW;
            text(
                &mut content,
                MARGIN,
                y,
                TEXT_SIZE,
                false,
                &format!("Parameters: {}", heading.parameters),
            );
        }
        y -= 2.0 * ROW;
        // The headings, and a rule beneath them.
        let mut x = MARGIN;
        for (col, column) in export.columns.iter().enumerate() {
            let heading_text = fitted(column.name.trim(), widths[col], true);
            let left = if column.kind.is_number() {
                x + PAD + widths[col] - width(&heading_text, TEXT_SIZE, true)
            } else {
                x + PAD
            };
            text(&mut content, left, y, TEXT_SIZE, true, &heading_text);
            x += widths[col] + 2.0 * PAD;
        }
        rule(&mut content, y - 3.0, page.0);
        y -= ROW;
        let rows_here = if n == 0 { first_rows } else { other_rows };
        for _ in 0..rows_here {
            let Some((index, line)) = lines_left.next() else { break };
            let is_total = index == table.len();
            if is_total {
                rule(&mut content, y + ROW - 3.0, page.0);
            }
            let mut x = MARGIN;
            for (col, (value, right)) in line.iter().enumerate() {
                let value = fitted(value, widths[col], is_total);
                let left = if *right {
                    x + PAD + widths[col] - width(&value, TEXT_SIZE, is_total)
                } else {
                    x + PAD
                };
                if !value.is_empty() {
                    text(&mut content, left, y, TEXT_SIZE, is_total, &value);
                }
                x += widths[col] + 2.0 * PAD;
            }
            y -= ROW;
        }
        let footer = format!("{title} - page {} of {pages}", n + 1);
        let footer_x = (page.0 - width(&footer, TEXT_SIZE, false)) / 2.0;
        text(&mut content, footer_x, MARGIN / 2.0, TEXT_SIZE, false, &footer);

        let mut page_writer = pdf.page(page_ref(n));
        page_writer
            .parent(tree)
            .media_box(Rect::new(0.0, 0.0, page.0, page.1))
            .contents(content_ref(n));
        let mut resources = page_writer.resources();
        resources.fonts().pair(Name(b"F1"), regular).pair(Name(b"F2"), bold);
        drop(resources);
        drop(page_writer);
        pdf.stream(content_ref(n), &content.finish());
    }
    Ok(pdf.finish())
}

/// A thin rule across the page at `y`.
fn rule(content: &mut Content, y: f32, page_width: f32) {
    content.set_line_width(0.5);
    content.move_to(MARGIN, y);
    content.line_to(page_width - MARGIN, y);
    content.stroke();
}

//! Parsing a CSV file of subscribers (`phone,email,topics`, and optionally `landline`) into
//! checked rows and row errors.
//!
//! The whole file is read: every good row is kept and every bad one reported with its line in the
//! file (the header is line 1), so a town hall can fix its spreadsheet in one pass. Nothing is
//! written here; the caller decides whether to import the good rows when some are bad.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::email::EmailAddress;
use super::phone::{PhoneNumber, Region};
use super::slug::Slug;

/// Most topics one subscriber may be given on one row (or in one API call): a commune has tens,
/// and the bound keeps a hostile row from costing more than an ordinary one.
pub const MAX_TOPICS_PER_SUBSCRIBER: usize = 100;

/// The columns of the header, in the order the error messages give them: the first three are
/// required, `landline` (a fixed line, called by voice) may be left out.
const COLUMNS: [&str; 4] = ["phone", "email", "topics", "landline"];
const REQUIRED: usize = 3;

/// One subscriber read from the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportRow {
    /// Line of the file where the row starts.
    pub line: usize,
    pub phone: Option<PhoneNumber>,
    pub email: Option<EmailAddress>,
    pub landline: Option<PhoneNumber>,
    /// At least one, deduplicated, in the order given.
    pub topics: Vec<Slug>,
}

/// A problem with one line of the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub line: usize,
    /// `phone`, `email`, `landline` or `topics`, or `None` for the row (or the header) as a whole.
    pub field: Option<&'static str>,
    pub reason: String,
}

/// What a CSV file held: the good rows and the errors, both in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportParse {
    pub rows: Vec<ImportRow>,
    pub errors: Vec<RowError>,
}

/// Reads a subscriber CSV file: a header naming exactly the columns `phone`, `email` and `topics`
/// (any order, any case), then one subscriber per row, with topics separated by `;`. A UTF-8 BOM,
/// CRLF line ends and blank lines are tolerated. Phone numbers and addresses never appear in the
/// error reasons, which may end up in logs.
pub fn parse_subscribers_csv(input: &str) -> ImportParse {
    parse_subscribers_csv_in(input, Region::FRANCE)
}

/// [`parse_subscribers_csv`] for a commune of `region`: numbers in national form are the
/// region's, and each must be able to receive SMS (a fixed line is refused with its line).
pub fn parse_subscribers_csv_in(input: &str, region: Region) -> ImportParse {
    let input = input.strip_prefix('\u{FEFF}').unwrap_or(input);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(input.as_bytes());

    let mut parse = ImportParse::default();
    let mut columns: Option<Columns> = None;
    let mut seen = Seen::default();
    let mut record = csv::StringRecord::new();
    let mut lines = LineCounter::new(input);
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(err) => {
                // A &str is valid UTF-8 and the reader is flexible, so this is not expected.
                let line = err.position().map_or(1, |p| lines.line_at(p.byte()));
                parse.errors.push(RowError {
                    line,
                    field: None,
                    reason: format!("the file cannot be read from this line on: {err}"),
                });
                break;
            }
        }
        let line = record.position().map_or(1, |p| lines.line_at(p.byte()));
        if record.iter().all(str::is_empty) {
            continue;
        }
        match &columns {
            None => match Columns::from_header(&record) {
                Ok(found) => columns = Some(found),
                Err(reason) => {
                    parse.errors.push(RowError {
                        line,
                        field: None,
                        reason,
                    });
                    return parse;
                }
            },
            Some(columns) => match columns.row(&record, line, region) {
                Ok(row) => match seen.check_and_record(&row) {
                    Ok(()) => parse.rows.push(row),
                    Err(errors) => parse.errors.extend(errors),
                },
                Err(errors) => parse.errors.extend(errors),
            },
        }
    }
    if columns.is_none() {
        parse.errors.push(RowError {
            line: 1,
            field: None,
            reason: format!(
                "the file is empty; its first line must be the header {}",
                header()
            ),
        });
    }
    parse
}

/// Turns the byte offsets the csv reader gives into line numbers.
///
/// The reader's own `Position::line` cannot be used: it is taken where the previous record ended,
/// before the rest of a CRLF and any blank lines are skipped, so it lags behind (csv 1.4).
/// The byte offset has the same lag, but only line ends can follow it, so they are skipped here.
struct LineCounter<'a> {
    input: &'a [u8],
    /// Bytes before this offset have been counted.
    offset: usize,
    /// Line ends (`\n`, `\r\n` or a lone `\r`) before `offset`.
    ends: usize,
}

impl<'a> LineCounter<'a> {
    fn new(input: &'a str) -> Self {
        Self {
            input: input.as_bytes(),
            offset: 0,
            ends: 0,
        }
    }

    /// The 1-based line of the first character at or after `byte` that is not a line end.
    /// Offsets must not decrease from one call to the next.
    fn line_at(&mut self, byte: u64) -> usize {
        let mut start = usize::try_from(byte)
            .unwrap_or(usize::MAX)
            .min(self.input.len());
        while matches!(self.input.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        for i in self.offset..start {
            match self.input[i] {
                b'\n' => self.ends += 1,
                b'\r' if self.input.get(i + 1) != Some(&b'\n') => self.ends += 1,
                _ => {}
            }
        }
        self.offset = self.offset.max(start);
        self.ends + 1
    }
}

fn header() -> String {
    format!("{}[,{}]", COLUMNS[..REQUIRED].join(","), COLUMNS[REQUIRED])
}

/// Where each column sits in the file's rows.
struct Columns {
    /// Positions of `phone`, `email` and `topics`, in the order of [`COLUMNS`].
    index: [usize; 3],
    landline: Option<usize>,
}

impl Columns {
    /// Reads the header: the three required columns and maybe `landline`, in any order and case. Cells left empty (a
    /// trailing comma from a spreadsheet) are ignored.
    fn from_header(record: &csv::StringRecord) -> Result<Self, String> {
        if record.len() == 1 && record[0].contains(';') {
            return Err(format!(
                "the header has a single column; columns must be separated by commas, not \
                 semicolons: {}",
                header()
            ));
        }
        let mut index = [None; 4];
        let mut unknown = Vec::new();
        let mut repeated = Vec::new();
        for (position, name) in record.iter().enumerate() {
            let name = name.to_lowercase();
            if name.is_empty() {
                continue;
            }
            match COLUMNS.iter().position(|&column| column == name) {
                Some(i) if index[i].is_some() => repeated.push(COLUMNS[i]),
                Some(i) => index[i] = Some(position),
                None => unknown.push(name),
            }
        }
        let missing: Vec<&str> = COLUMNS[..REQUIRED]
            .iter()
            .zip(&index)
            .filter(|(_, i)| i.is_none())
            .map(|(&c, _)| c)
            .collect();
        let mut problems = Vec::new();
        if !missing.is_empty() {
            problems.push(format!("missing {}", missing.join(", ")));
        }
        if !unknown.is_empty() {
            let quoted: Vec<String> = unknown.iter().map(|name| format!("{name:?}")).collect();
            problems.push(format!("unknown {}", quoted.join(", ")));
        }
        if !repeated.is_empty() {
            problems.push(format!("repeated {}", repeated.join(", ")));
        }
        match index {
            [Some(phone), Some(email), Some(topics), landline] if problems.is_empty() => Ok(Self {
                index: [phone, email, topics],
                landline,
            }),
            _ => Err(format!(
                "the first line must be the header {} (columns in any order): {}",
                header(),
                problems.join("; ")
            )),
        }
    }

    /// Checks one data row; all its faults are reported, not only the first.
    fn row(
        &self,
        record: &csv::StringRecord,
        line: usize,
        region: Region,
    ) -> Result<ImportRow, Vec<RowError>> {
        let mut errors = Vec::new();
        let mut error = |field, reason: String| {
            errors.push(RowError {
                line,
                field,
                reason,
            })
        };

        let extra = record
            .iter()
            .enumerate()
            .any(|(i, v)| !self.index.contains(&i) && self.landline != Some(i) && !v.is_empty());
        if extra {
            error(
                None,
                format!(
                    "row has more values than the header has columns ({})",
                    header()
                ),
            );
        }
        let [phone_cell, email_cell, topics_cell] = self.index.map(|i| record.get(i).unwrap_or(""));
        let landline_cell = self.landline.and_then(|i| record.get(i)).unwrap_or("");

        let phone = match phone_cell {
            "" => None,
            cell => PhoneNumber::parse_for_sms(cell, region)
                .map_err(|err| error(Some("phone"), err.to_string()))
                .ok(),
        };
        let email = match email_cell {
            "" => None,
            cell => EmailAddress::parse(cell)
                .map_err(|err| error(Some("email"), err.to_string()))
                .ok(),
        };
        let landline = match landline_cell {
            "" => None,
            cell => PhoneNumber::parse_for_voice(cell, region)
                .map_err(|err| error(Some("landline"), err.to_string()))
                .ok(),
        };
        if phone_cell.is_empty() && email_cell.is_empty() && landline_cell.is_empty() {
            error(
                None,
                "row has neither a phone number, an e-mail address nor a fixed line".to_owned(),
            );
        }

        let items: Vec<&str> = topics_cell
            .split(';')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .take(MAX_TOPICS_PER_SUBSCRIBER + 1)
            .collect();
        let mut topics: Vec<Slug> = Vec::new();
        if items.is_empty() {
            error(
                Some("topics"),
                "at least one topic is required (separate several with ';')".to_owned(),
            );
        } else if items.len() > MAX_TOPICS_PER_SUBSCRIBER {
            error(
                Some("topics"),
                format!("more than {MAX_TOPICS_PER_SUBSCRIBER} topics on one row"),
            );
        } else {
            let mut seen = HashSet::with_capacity(items.len());
            for item in items {
                match Slug::parse(item) {
                    Ok(slug) if seen.insert(slug.clone()) => topics.push(slug),
                    Ok(_) => {}
                    Err(err) => error(Some("topics"), format!("topic {item:?}: {err}")),
                }
            }
        }

        if errors.is_empty() {
            Ok(ImportRow {
                line,
                phone,
                email,
                landline,
                topics,
            })
        } else {
            Err(errors)
        }
    }
}

/// Lines on which each phone number and e-mail address was first kept.
#[derive(Default)]
struct Seen {
    phones: HashMap<PhoneNumber, usize>,
    landlines: HashMap<PhoneNumber, usize>,
    /// Keyed by the lower-cased address: mailboxes differing only in case are one person.
    emails: HashMap<String, usize>,
}

impl Seen {
    /// Refuses a row whose phone or e-mail was on an earlier kept row; records it otherwise.
    fn check_and_record(&mut self, row: &ImportRow) -> Result<(), Vec<RowError>> {
        let email_key = row
            .email
            .as_ref()
            .map(|email| email.as_str().to_lowercase());
        let mut errors = Vec::new();
        if let Some(&earlier) = row.phone.as_ref().and_then(|phone| self.phones.get(phone)) {
            errors.push(duplicate(row.line, "phone", "phone number", earlier));
        }
        if let Some(&earlier) = email_key.as_ref().and_then(|key| self.emails.get(key)) {
            errors.push(duplicate(row.line, "email", "e-mail address", earlier));
        }
        if let Some(&earlier) = row.landline.as_ref().and_then(|l| self.landlines.get(l)) {
            errors.push(duplicate(row.line, "landline", "fixed line", earlier));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        if let Some(phone) = &row.phone {
            self.phones.insert(phone.clone(), row.line);
        }
        if let Some(key) = email_key {
            self.emails.insert(key, row.line);
        }
        if let Some(landline) = &row.landline {
            self.landlines.insert(landline.clone(), row.line);
        }
        Ok(())
    }
}

fn duplicate(line: usize, field: &'static str, what: &str, earlier: usize) -> RowError {
    RowError {
        line,
        field: Some(field),
        reason: format!(
            "same {what} as line {earlier}; put all of a subscriber's topics on one row, \
             separated by ';'"
        ),
    }
}

#[cfg(test)]
mod tests;

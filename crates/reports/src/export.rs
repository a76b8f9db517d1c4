//! Reports as tables, and tables as CSV or XLSX files, with headers in English or zh-CN.
//!
//! CSV: RFC 4180 quoting (a field with a comma, quote, CR or LF is quoted, quotes doubled), CRLF
//! line ends, and a UTF-8 byte order mark so Excel shows Chinese text. XLSX: one sheet, bold
//! header, rates as percentages, durations in seconds, written by `rust_xlsxwriter`. A rate's
//! change column reads `+4 pp` (`+4 个百分点`), a quantity's `−11%`, as KPI.md says.

use kpi::compare::{ChangeKind, Kpi, Locale};
use kpi::figures::{FigureSettings, KpiCounts};

use crate::ReportError;
use crate::reports::{
    AbandonedList, AgentReport, ChannelMixReport, CsatReport, DimensionReport, HourlyArrivals, IvrReport, KpiRow,
    QueueReport,
};

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    /// A count.
    Count(u64),
    /// A figure with this many decimals (seconds, scores).
    Number(f64, usize),
    /// A fraction shown as a percentage.
    Percent(f64),
    Empty,
}

/// A report laid out for a file or a page: a title, headers, rows of cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub title: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// Anything that can be laid out as a table.
pub trait Tabular {
    fn table(&self, locale: Locale) -> Table;
}

/// A column of a dimension report: a KPI, or a count the KPI list does not have.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Column {
    Kpi(Kpi),
    Abandoned,
    Handled,
    IvrEntered,
    IvrContained,
    CsatResponses,
    LoggedInHours,
    /// Share of the total's offered contacts.
    ShareOfOffered,
}

impl Column {
    fn label(self, locale: Locale) -> &'static str {
        let zh = locale == Locale::ZhCn;
        match self {
            Column::Kpi(k) => k.label(locale),
            Column::Abandoned => {
                if zh {
                    "放弃量"
                } else {
                    "Abandoned"
                }
            }
            Column::Handled => {
                if zh {
                    "处理量"
                } else {
                    "Handled"
                }
            }
            Column::IvrEntered => {
                if zh {
                    "进入 IVR"
                } else {
                    "Entered IVR"
                }
            }
            Column::IvrContained => {
                if zh {
                    "IVR 自助完成"
                } else {
                    "Contained in IVR"
                }
            }
            Column::CsatResponses => {
                if zh {
                    "满意度回复数"
                } else {
                    "CSAT responses"
                }
            }
            Column::LoggedInHours => {
                if zh {
                    "登录时长（小时）"
                } else {
                    "Logged-in hours"
                }
            }
            Column::ShareOfOffered => {
                if zh {
                    "呼入占比"
                } else {
                    "Share of offered"
                }
            }
        }
    }

    fn value(self, c: &KpiCounts, total: &KpiCounts, s: &FigureSettings) -> Option<f64> {
        let figures = kpi::figures::Figures::compute(c, s);
        match self {
            Column::Kpi(k) => k.value(&figures, c),
            Column::Abandoned => Some(c.abandoned as f64),
            Column::Handled => Some(c.handled as f64),
            Column::IvrEntered => Some(c.ivr_entered as f64),
            Column::IvrContained => Some(c.ivr_contained as f64),
            Column::CsatResponses => Some(c.csat_responses as f64),
            Column::LoggedInHours => Some(c.logged_in_ms() as f64 / 3_600_000.0),
            Column::ShareOfOffered => (total.offered > 0).then(|| c.offered as f64 / total.offered as f64),
        }
    }

    fn kind(self) -> ChangeKind {
        match self {
            Column::Kpi(k) => k.change_kind(),
            Column::ShareOfOffered => ChangeKind::Rate,
            _ => ChangeKind::Quantity,
        }
    }

    fn cell(self, v: Option<f64>) -> Cell {
        let Some(v) = v else { return Cell::Empty };
        match self {
            Column::Kpi(Kpi::Offered | Kpi::Answered)
            | Column::Abandoned
            | Column::Handled
            | Column::IvrEntered
            | Column::IvrContained
            | Column::CsatResponses => Cell::Count(v.max(0.0) as u64),
            Column::LoggedInHours => Cell::Number(v, 1),
            _ if self.kind() == ChangeKind::Rate => Cell::Percent(v),
            _ => Cell::Number(v, 1),
        }
    }
}

fn title(locale: Locale, en: &str, zh: &str) -> String {
    match locale {
        Locale::English => en.to_owned(),
        Locale::ZhCn => zh.to_owned(),
    }
}

fn change_header(locale: Locale) -> &'static str {
    match locale {
        Locale::English => "change",
        Locale::ZhCn => "变化",
    }
}

/// Lays out a dimension report: a label column, then each column's value (and its change when
/// the report compares periods); a total line last.
fn layout(r: &DimensionReport, locale: Locale, first: (&str, &str), columns: &[Column], name: (&str, &str)) -> Table {
    let compared = r.period.previous.is_some();
    let mut headers = vec![title(locale, first.0, first.1)];
    for c in columns {
        headers.push(c.label(locale).to_owned());
        if compared {
            headers.push(format!("{} {}", c.label(locale), change_header(locale)));
        }
    }
    let s = r.period.figure_settings;
    let total_prev = r.total.previous.unwrap_or_default();
    let line = |row: &KpiRow, label: String| {
        let mut cells = vec![Cell::Text(label)];
        for c in columns {
            let now = c.value(&row.current, &r.total.current, &s);
            cells.push(c.cell(now));
            if compared {
                let before = row.previous.as_ref().and_then(|p| c.value(p, &total_prev, &s));
                let change = kpi::compare::change(c.kind(), now, before);
                cells.push(change.map(|ch| Cell::Text(ch.format(locale))).unwrap_or(Cell::Empty));
            }
        }
        cells
    };
    let mut rows: Vec<Vec<Cell>> = r.rows.iter().map(|row| line(row, row.label.clone())).collect();
    rows.push(line(&r.total, title(locale, "Total", "合计")));
    Table { title: title(locale, name.0, name.1), headers, rows }
}

impl Tabular for QueueReport {
    fn table(&self, locale: Locale) -> Table {
        let cols = [
            Column::Kpi(Kpi::Offered),
            Column::Kpi(Kpi::Answered),
            Column::Abandoned,
            Column::Kpi(Kpi::ServiceLevel),
            Column::Kpi(Kpi::AnswerRate),
            Column::Kpi(Kpi::AbandonRate),
            Column::Kpi(Kpi::AverageSpeedOfAnswer),
            Column::Kpi(Kpi::AverageAbandonedWait),
            Column::Kpi(Kpi::AverageHandleTime),
            Column::Kpi(Kpi::TransferRate),
            Column::Kpi(Kpi::FirstContactResolution),
            Column::Kpi(Kpi::CsatTopTwoBox),
        ];
        layout(&self.0, locale, ("Queue", "队列"), &cols, ("Queue performance", "队列绩效"))
    }
}

impl Tabular for AgentReport {
    fn table(&self, locale: Locale) -> Table {
        let cols = [
            Column::Kpi(Kpi::Answered),
            Column::Handled,
            Column::Kpi(Kpi::AverageHandleTime),
            Column::Kpi(Kpi::AverageSpeedOfAnswer),
            Column::Kpi(Kpi::Occupancy),
            Column::Kpi(Kpi::Utilisation),
            Column::LoggedInHours,
            Column::Kpi(Kpi::TransferRate),
            Column::Kpi(Kpi::CsatTopTwoBox),
        ];
        layout(&self.0, locale, ("Agent", "坐席"), &cols, ("Agent performance", "坐席绩效"))
    }
}

impl Tabular for ChannelMixReport {
    fn table(&self, locale: Locale) -> Table {
        let cols = [
            Column::Kpi(Kpi::Offered),
            Column::ShareOfOffered,
            Column::Kpi(Kpi::Answered),
            Column::Kpi(Kpi::ServiceLevel),
            Column::Kpi(Kpi::AverageHandleTime),
            Column::Kpi(Kpi::CsatTopTwoBox),
        ];
        layout(&self.0, locale, ("Channel", "渠道"), &cols, ("Channel mix", "渠道构成"))
    }
}

impl Tabular for IvrReport {
    fn table(&self, locale: Locale) -> Table {
        let cols = [Column::IvrEntered, Column::IvrContained, Column::Kpi(Kpi::IvrContainment)];
        layout(&self.0, locale, ("Channel", "渠道"), &cols, ("IVR containment", "IVR 自助解决"))
    }
}

impl Tabular for CsatReport {
    fn table(&self, locale: Locale) -> Table {
        let cols = [
            Column::CsatResponses,
            Column::Kpi(Kpi::CsatTopTwoBox),
            Column::Kpi(Kpi::CsatMean),
            Column::Kpi(Kpi::NetPromoterScore),
        ];
        layout(&self.0, locale, ("Queue", "队列"), &cols, ("Customer satisfaction", "客户满意度"))
    }
}

impl Tabular for HourlyArrivals {
    fn table(&self, locale: Locale) -> Table {
        let mut total =
            KpiRow { key: "total".into(), label: String::new(), current: KpiCounts::default(), previous: None };
        let mut previous_total = KpiCounts::default();
        for h in &self.hours {
            total.current.merge(&h.current);
            if let Some(p) = &h.previous {
                previous_total.merge(p);
            }
        }
        total.previous = self.period.previous.map(|_| previous_total);
        let r = DimensionReport { period: self.period, rows: self.hours.clone(), total };
        let cols = [Column::Kpi(Kpi::Offered), Column::Kpi(Kpi::Answered), Column::Abandoned];
        // Hours stay in clock order: layout keeps the rows as given.
        layout(&r, locale, ("Hour", "时段"), &cols, ("Hourly arrivals", "分时呼入量"))
    }
}

impl Tabular for AbandonedList {
    fn table(&self, locale: Locale) -> Table {
        let zh = locale == Locale::ZhCn;
        let headers = if zh {
            ["联系 ID", "渠道", "队列", "来电号码/地址", "进入队列时间 (UTC)", "放弃时间 (UTC)", "等待 (秒)"]
        } else {
            ["Contact", "Channel", "Queue", "From", "Queued at (UTC)", "Abandoned at (UTC)", "Wait (s)"]
        };
        let time = |t: Option<model::Timestamp>| t.map(|t| Cell::Text(utc_text(t.unix_ms()))).unwrap_or(Cell::Empty);
        let rows = self
            .contacts
            .iter()
            .map(|c| {
                let wait = c.queued_at.zip(c.ended_at).map(|(q, e)| e.since(q).as_ms() as f64 / 1000.0);
                vec![
                    Cell::Text(c.contact.to_string()),
                    Cell::Text(c.channel.as_str().to_owned()),
                    c.queue.map(|q| Cell::Text(q.to_string())).unwrap_or(Cell::Empty),
                    Cell::Text(c.from_address.clone()),
                    time(c.queued_at),
                    time(c.ended_at),
                    wait.map(|w| Cell::Number(w, 1)).unwrap_or(Cell::Empty),
                ]
            })
            .collect();
        Table {
            title: title(locale, "Abandoned contacts", "放弃来电"),
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            rows,
        }
    }
}

/// `YYYY-MM-DD hh:mm:ss` in UTC (civil-from-days, no time zone database needed).
pub fn utc_text(unix_ms: i64) -> String {
    let secs = unix_ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
}

fn csv_field(out: &mut String, text: &str) {
    if text.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&text.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(text);
    }
}

fn cell_text(c: &Cell) -> String {
    match c {
        Cell::Text(t) => t.clone(),
        Cell::Count(n) => n.to_string(),
        Cell::Number(v, d) => format!("{v:.d$}", d = *d),
        Cell::Percent(v) => format!("{:.1}%", v * 100.0),
        Cell::Empty => String::new(),
    }
}

/// The table as CSV bytes: UTF-8 with a byte order mark, CRLF line ends, RFC 4180 quoting.
pub fn to_csv(table: &Table) -> Vec<u8> {
    let mut out = String::from("\u{FEFF}");
    let mut line = |cells: Vec<String>| {
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            csv_field(&mut out, c);
        }
        out.push_str("\r\n");
    };
    line(table.headers.clone());
    for row in &table.rows {
        line(row.iter().map(cell_text).collect());
    }
    out.into_bytes()
}

/// The table as an XLSX workbook (one sheet named after the title).
pub fn to_xlsx(table: &Table) -> Result<Vec<u8>, ReportError> {
    use rust_xlsxwriter::{Format, Workbook};
    let xlsx = |e: rust_xlsxwriter::XlsxError| ReportError::Export(e.to_string());
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let name: String = table.title.chars().filter(|c| !"[]:*?/\\".contains(*c)).take(31).collect();
    sheet.set_name(if name.is_empty() { "Report" } else { &name }).map_err(xlsx)?;
    let bold = Format::new().set_bold();
    let percent = Format::new().set_num_format("0.0%");
    let one_decimal = Format::new().set_num_format("0.0");
    for (col, h) in table.headers.iter().enumerate() {
        let col = u16::try_from(col).map_err(|_| ReportError::Export("too many columns".into()))?;
        sheet.write_string_with_format(0, col, h, &bold).map_err(xlsx)?;
        sheet.set_column_width(col, (h.chars().count() as f64 * 1.6).clamp(10.0, 40.0)).map_err(xlsx)?;
    }
    for (r, row) in table.rows.iter().enumerate() {
        let r = u32::try_from(r + 1).map_err(|_| ReportError::Export("too many rows".into()))?;
        for (col, cell) in row.iter().enumerate() {
            let col = u16::try_from(col).map_err(|_| ReportError::Export("too many columns".into()))?;
            match cell {
                Cell::Text(t) => sheet.write_string(r, col, t).map(drop),
                Cell::Count(n) => sheet.write_number(r, col, *n as f64).map(drop),
                Cell::Number(v, _) => sheet.write_number_with_format(r, col, *v, &one_decimal).map(drop),
                Cell::Percent(v) => sheet.write_number_with_format(r, col, *v, &percent).map(drop),
                Cell::Empty => Ok(()),
            }
            .map_err(xlsx)?;
        }
    }
    book.save_to_buffer().map_err(xlsx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting_and_starts_with_a_bom() {
        let t = Table {
            title: "t".into(),
            headers: vec!["队列".into(), "a,b".into()],
            rows: vec![
                vec![Cell::Text("say \"hi\"\n".into()), Cell::Percent(0.925)],
                vec![Cell::Empty, Cell::Count(3)],
            ],
        };
        let text = String::from_utf8(to_csv(&t)).expect("utf-8");
        assert_eq!(text, "\u{FEFF}队列,\"a,b\"\r\n\"say \"\"hi\"\"\n\",92.5%\r\n,3\r\n");
    }

    #[test]
    fn utc_text_is_the_civil_date() {
        assert_eq!(utc_text(0), "1970-01-01 00:00:00");
        assert_eq!(utc_text(1_795_741_200_000), "2026-11-27 01:00:00");
        assert_eq!(utc_text(951_782_400_000), "2000-02-29 00:00:00");
    }
}

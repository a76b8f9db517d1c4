//! The typed reports, each computed from the stored intervals with the `kpi` crate (merge the
//! counts of the intervals shown, then `Figures::compute`: the same path as the live wallboard),
//! and the abandoned-call list from the contacts. Each report keeps its counts, so figures and
//! changes are computed, never stored.

use std::collections::BTreeMap;

use kpi::calendar::Granularity;
use kpi::compare::{Change, Kpi, Period};
use kpi::figures::{FigureSettings, Figures, KpiCounts};
use model::{AgentId, Channel, OrgId, QueueId};
use store::{AbandonedContact, IntervalDimension, IntervalDimensionKind, Page, Store, TimeRange};

use crate::ReportError;
use crate::period::{ReportPeriod, local_hour, pieces};
use crate::replay::{from_columns, length_of};

/// Most rows of the abandoned-call list.
pub const MAX_ABANDONED_ROWS: usize = 10_000;
/// Most queues or agents whose names are looked up for labels.
const MAX_NAMED: usize = 5_000;

/// One line of a report: what it is about, and its counts in the current and previous period.
#[derive(Debug, Clone, PartialEq)]
pub struct KpiRow {
    /// The queue or agent id, or the channel word; `total` for a total line.
    pub key: String,
    /// What people read: the queue's display name, the agent's name and extension, the channel.
    pub label: String,
    pub current: KpiCounts,
    pub previous: Option<KpiCounts>,
}

impl KpiRow {
    pub fn figures(&self, settings: &FigureSettings) -> Figures {
        Figures::compute(&self.current, settings)
    }

    pub fn value(&self, kpi: Kpi, settings: &FigureSettings) -> Option<f64> {
        kpi.value(&self.figures(settings), &self.current)
    }

    /// The change of `kpi` from the previous period (pp for rates, relative % for quantities).
    pub fn change(&self, kpi: Kpi, settings: &FigureSettings) -> Option<Change> {
        let previous = self.previous.as_ref()?;
        let before = Figures::compute(previous, settings);
        kpi.change((&self.figures(settings), &self.current), (&before, previous))
    }
}

/// Rows per queue, agent or channel, and their total.
#[derive(Debug, Clone, PartialEq)]
pub struct DimensionReport {
    pub period: ReportPeriod,
    pub rows: Vec<KpiRow>,
    pub total: KpiRow,
}

/// Queue performance: volumes, service level, answer and abandon rates, ASA, AHT, transfers,
/// FCR and CSAT per queue.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueReport(pub DimensionReport);
/// Agent performance: answered, handled, AHT, occupancy, utilisation, transfers, CSAT per agent.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentReport(pub DimensionReport);
/// Channel mix: each channel's share of offered contacts and its service figures.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelMixReport(pub DimensionReport);
/// IVR containment per channel.
#[derive(Debug, Clone, PartialEq)]
pub struct IvrReport(pub DimensionReport);
/// CSAT (top-2-box and mean) and NPS per queue.
#[derive(Debug, Clone, PartialEq)]
pub struct CsatReport(pub DimensionReport);

/// Offered, answered and abandoned contacts by local hour of day (0–23), all channels.
#[derive(Debug, Clone, PartialEq)]
pub struct HourlyArrivals {
    pub period: ReportPeriod,
    /// Index = local hour of day.
    pub hours: Vec<KpiRow>,
}

/// The abandoned contacts that arrived in the current period, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct AbandonedList {
    pub period: ReportPeriod,
    pub contacts: Vec<AbandonedContact>,
    /// More than [`MAX_ABANDONED_ROWS`] contacts abandoned; the list holds the first ones.
    pub truncated: bool,
}

fn key_of(d: &IntervalDimension) -> String {
    match d {
        IntervalDimension::Queue(q) => q.to_string(),
        IntervalDimension::Agent(a) => a.to_string(),
        IntervalDimension::Channel(c) => c.as_str().to_owned(),
    }
}

/// The merged counts per dimension of one kind over a period.
pub async fn totals(
    store: &Store,
    org: OrgId,
    kind: IntervalDimensionKind,
    period: Period,
    period_settings: &ReportPeriod,
) -> Result<BTreeMap<IntervalDimension, KpiCounts>, ReportError> {
    let mut out: BTreeMap<IntervalDimension, KpiCounts> = BTreeMap::new();
    for (g, piece) in pieces(period, period_settings.utc_offset) {
        let range = TimeRange::new(piece.start, piece.end);
        for (dimension, counts) in store.report_interval_totals(org, length_of(g), kind, range).await? {
            out.entry(dimension).or_default().merge(&from_columns(&counts));
        }
    }
    Ok(out)
}

async fn dimension_report(
    store: &Store,
    org: OrgId,
    kind: IntervalDimensionKind,
    period: &ReportPeriod,
) -> Result<DimensionReport, ReportError> {
    let current = totals(store, org, kind, period.current, period).await?;
    let previous = match period.previous {
        Some(p) => Some(totals(store, org, kind, p, period).await?),
        None => None,
    };
    let labels = labels(store, org, kind).await?;
    let mut dims: Vec<IntervalDimension> = current.keys().copied().collect();
    dims.extend(previous.iter().flat_map(|p| p.keys().copied()));
    dims.sort();
    dims.dedup();
    let mut rows = Vec::with_capacity(dims.len());
    let mut total = KpiRow {
        key: "total".into(),
        label: String::new(),
        current: KpiCounts::default(),
        previous: previous.as_ref().map(|_| KpiCounts::default()),
    };
    for d in dims {
        let key = key_of(&d);
        let row = KpiRow {
            label: labels.get(&key).cloned().unwrap_or_else(|| key.clone()),
            key,
            current: current.get(&d).copied().unwrap_or_default(),
            previous: previous.as_ref().map(|p| p.get(&d).copied().unwrap_or_default()),
        };
        total.current.merge(&row.current);
        if let (Some(t), Some(p)) = (total.previous.as_mut(), row.previous.as_ref()) {
            t.merge(p);
        }
        rows.push(row);
    }
    rows.sort_by(|a, b| a.label.cmp(&b.label).then_with(|| a.key.cmp(&b.key)));
    Ok(DimensionReport { period: *period, rows, total })
}

/// Display names of queues (`display_name`) and agents (`display_name (extension)`), by id.
async fn labels(
    store: &Store,
    org: OrgId,
    kind: IntervalDimensionKind,
) -> Result<BTreeMap<String, String>, ReportError> {
    let mut out = BTreeMap::new();
    let mut page = Page::first(store::MAX_PAGE_SIZE);
    loop {
        let next = match kind {
            IntervalDimensionKind::Queue => {
                let got = store.list_queues(org, &page).await?;
                out.extend(got.items.into_iter().map(|q: model::Queue| (q.id.to_string(), q.display_name)));
                got.next
            }
            IntervalDimensionKind::Agent => {
                let got = store.list_agents(org, &page).await?;
                out.extend(
                    got.items
                        .into_iter()
                        .map(|a: model::Agent| (a.id.to_string(), format!("{} ({})", a.display_name, a.extension))),
                );
                got.next
            }
            IntervalDimensionKind::Channel => None,
        };
        match next {
            Some(cursor) if out.len() < MAX_NAMED => page = Page { limit: store::MAX_PAGE_SIZE, after: Some(cursor) },
            _ => return Ok(out),
        }
    }
}

pub async fn queue_performance(store: &Store, org: OrgId, period: &ReportPeriod) -> Result<QueueReport, ReportError> {
    dimension_report(store, org, IntervalDimensionKind::Queue, period).await.map(QueueReport)
}

pub async fn agent_performance(store: &Store, org: OrgId, period: &ReportPeriod) -> Result<AgentReport, ReportError> {
    dimension_report(store, org, IntervalDimensionKind::Agent, period).await.map(AgentReport)
}

pub async fn channel_mix(store: &Store, org: OrgId, period: &ReportPeriod) -> Result<ChannelMixReport, ReportError> {
    dimension_report(store, org, IntervalDimensionKind::Channel, period).await.map(ChannelMixReport)
}

pub async fn ivr_containment(store: &Store, org: OrgId, period: &ReportPeriod) -> Result<IvrReport, ReportError> {
    let mut r = dimension_report(store, org, IntervalDimensionKind::Channel, period).await?;
    r.rows.retain(|row| row.current.ivr_entered > 0 || row.previous.is_some_and(|p| p.ivr_entered > 0));
    Ok(IvrReport(r))
}

pub async fn csat(store: &Store, org: OrgId, period: &ReportPeriod) -> Result<CsatReport, ReportError> {
    dimension_report(store, org, IntervalDimensionKind::Queue, period).await.map(CsatReport)
}

/// Offered, answered and abandoned by local hour of day, read from hour intervals (a period
/// that does not start and end on whole hours is widened to them).
pub async fn hourly_arrivals(store: &Store, org: OrgId, period: &ReportPeriod) -> Result<HourlyArrivals, ReportError> {
    let by_hour = |p: Period| async move {
        let offset = period.utc_offset;
        let g = Granularity::Hour;
        let start = g.start_of(p.start, offset);
        let end = kpi::calendar::shift(g.start_of(kpi::calendar::shift(p.end, -1), offset), g.length_ms());
        let range = TimeRange::new(start, end.max(start));
        let mut hours = vec![KpiCounts::default(); 24];
        for row in store.report_intervals(org, length_of(g), IntervalDimensionKind::Channel, range).await? {
            hours[local_hour(row.start, offset)].merge(&from_columns(&row.counts));
        }
        Ok::<_, ReportError>(hours)
    };
    let current = by_hour(period.current).await?;
    let previous = match period.previous {
        Some(p) => Some(by_hour(p).await?),
        None => None,
    };
    let hours = (0..24)
        .map(|h| KpiRow {
            key: format!("{h:02}"),
            label: format!("{h:02}:00"),
            current: current[h],
            previous: previous.as_ref().map(|p| p[h]),
        })
        .collect();
    Ok(HourlyArrivals { period: *period, hours })
}

/// The abandoned contacts that arrived in the current period (at most [`MAX_ABANDONED_ROWS`]).
pub async fn abandoned_contacts(
    store: &Store,
    org: OrgId,
    period: &ReportPeriod,
) -> Result<AbandonedList, ReportError> {
    let range = TimeRange::new(period.current.start, period.current.end);
    let (contacts, truncated) = store.list_abandoned_contacts(org, range, MAX_ABANDONED_ROWS).await?;
    Ok(AbandonedList { period: *period, contacts, truncated })
}

/// Ids helpers for callers that look a row up.
impl DimensionReport {
    pub fn row(&self, key: &str) -> Option<&KpiRow> {
        self.rows.iter().find(|r| r.key == key)
    }

    pub fn queue(&self, id: QueueId) -> Option<&KpiRow> {
        self.row(&id.to_string())
    }

    pub fn agent(&self, id: AgentId) -> Option<&KpiRow> {
        self.row(&id.to_string())
    }

    pub fn channel(&self, channel: Channel) -> Option<&KpiRow> {
        self.row(channel.as_str())
    }
}

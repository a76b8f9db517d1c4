//! Per-call voice quality: the ITU-T G.107 E-model reduced to what RTP statistics can feed it
//! (one-way delay and packet loss), giving an R-factor and an estimated MOS.
//!
//! R = 93.2 − Id − Ie,eff (93.2 is G.107's R with all default parameters). Id is the delay
//! impairment in the Cole–Rosenbluth fit of G.107 with default echo loss:
//! 0.024·Ta + 0.11·(Ta − 177.3)·H(Ta − 177.3). Ie,eff = Ie + (95 − Ie)·Ppl / (Ppl/BurstR + Bpl)
//! (G.107 §7.4) with G.711's Ie = 0 and Bpl = 25.1 with packet-loss concealment (G.113 App. I),
//! BurstR = 1 (random loss). MOS from R per G.107 Annex B. The PLC assumption is the endpoints'
//! (relayed audio is concealed by the phones); our own decoded paths use simpler repetition.
//! Must never: return a MOS outside 1..=4.5.

/// Equipment impairment factor of G.711 (G.113 Appendix I).
pub const G711_IE: f64 = 0.0;
/// Packet-loss robustness of G.711 with PLC (G.113 Appendix I).
pub const G711_BPL: f64 = 25.1;
/// Packet-loss robustness of G.711 without PLC (G.113 Appendix I).
pub const G711_BPL_NO_PLC: f64 = 4.3;
/// R with every G.107 parameter at its default.
const R_DEFAULT: f64 = 93.2;

/// Inputs of the E-model for one call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EModelInput {
    /// Mouth-to-ear one-way delay, ms.
    pub one_way_delay_ms: f64,
    /// Packet loss, percent (0..=100).
    pub packet_loss_percent: f64,
    /// Burst ratio (1 = random loss).
    pub burst_ratio: f64,
    pub ie: f64,
    pub bpl: f64,
}

impl EModelInput {
    /// G.711 with PLC and random loss.
    pub fn g711(one_way_delay_ms: f64, packet_loss_percent: f64) -> Self {
        Self { one_way_delay_ms, packet_loss_percent, burst_ratio: 1.0, ie: G711_IE, bpl: G711_BPL }
    }
}

/// Delay impairment Id.
pub fn delay_impairment(one_way_delay_ms: f64) -> f64 {
    let ta = one_way_delay_ms.max(0.0);
    let excess = (ta - 177.3).max(0.0);
    0.024 * ta + 0.11 * excess
}

/// Effective equipment impairment Ie,eff.
pub fn effective_equipment_impairment(input: &EModelInput) -> f64 {
    let ppl = input.packet_loss_percent.clamp(0.0, 100.0);
    let burst = input.burst_ratio.max(1.0);
    input.ie + (95.0 - input.ie) * ppl / (ppl / burst + input.bpl)
}

/// The transmission rating factor R.
pub fn r_factor(input: &EModelInput) -> f64 {
    R_DEFAULT - delay_impairment(input.one_way_delay_ms) - effective_equipment_impairment(input)
}

/// MOS-CQE from R (G.107 Annex B).
pub fn mos_from_r(r: f64) -> f64 {
    if r.is_nan() || r <= 0.0 {
        1.0
    } else if r >= 100.0 {
        4.5
    } else {
        (1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7.0e-6).clamp(1.0, 4.5)
    }
}

/// Quality of one leg of a call, for the contact record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QualitySummary {
    pub packets_expected: u64,
    pub packets_received: u64,
    pub packets_lost: i64,
    pub loss_percent: f64,
    /// Mean and worst interarrival jitter, ms.
    pub mean_jitter_ms: f64,
    pub max_jitter_ms: f64,
    /// Last measured round-trip time, ms, if RTCP gave one.
    pub rtt_ms: Option<f64>,
    /// The one-way delay assumed for the E-model, ms.
    pub one_way_delay_ms: f64,
    pub r_factor: f64,
    pub mos: f64,
}

/// Raw measurements a leg collects during a call.
#[derive(Debug, Clone, Copy, Default)]
pub struct QualityInputs {
    pub packets_expected: u64,
    pub packets_received: u64,
    pub mean_jitter_ms: f64,
    pub max_jitter_ms: f64,
    pub rtt_ms: Option<f64>,
    /// Our jitter buffer's target delay at the end of the call, ms.
    pub jitter_buffer_ms: f64,
}

/// Packetisation plus G.711's negligible algorithmic delay, ms.
const PACKETISATION_MS: f64 = 20.0;

impl QualitySummary {
    /// One-way delay = RTT/2 (0 when unknown) + jitter buffer + packetisation.
    pub fn from_inputs(i: &QualityInputs) -> Self {
        let lost = i.packets_expected as i64 - i.packets_received as i64;
        let loss_percent =
            if i.packets_expected == 0 { 0.0 } else { (lost.max(0) as f64) * 100.0 / i.packets_expected as f64 };
        let one_way_delay_ms = i.rtt_ms.unwrap_or(0.0) / 2.0 + i.jitter_buffer_ms + PACKETISATION_MS;
        let r = r_factor(&EModelInput::g711(one_way_delay_ms, loss_percent));
        Self {
            packets_expected: i.packets_expected,
            packets_received: i.packets_received,
            packets_lost: lost,
            loss_percent,
            mean_jitter_ms: i.mean_jitter_ms,
            max_jitter_ms: i.max_jitter_ms,
            rtt_ms: i.rtt_ms,
            one_way_delay_ms,
            r_factor: r,
            mos: mos_from_r(r),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 0.001
    }

    #[test]
    fn perfect_network_gives_the_default_r_and_mos_4_41() {
        // R = 93.2; MOS = 1 + 0.035·93.2 + 93.2·33.2·6.8·7e-6 = 1 + 3.262 + 0.147286 = 4.409286
        let r = r_factor(&EModelInput::g711(0.0, 0.0));
        assert!(close(r, 93.2));
        assert!(close(mos_from_r(r), 4.409286), "{}", mos_from_r(r));
    }

    #[test]
    fn delay_of_200_ms_fixture() {
        // Id = 0.024·200 + 0.11·22.7 = 4.8 + 2.497 = 7.297; R = 85.903
        // MOS = 1 + 3.006605 + 85.903·25.903·14.097·7e-6 = 4.226180
        let r = r_factor(&EModelInput::g711(200.0, 0.0));
        assert!(close(r, 85.903), "{r}");
        assert!(close(mos_from_r(r), 4.226180), "{}", mos_from_r(r));
    }

    #[test]
    fn two_percent_random_loss_fixture() {
        // Ie,eff = 95·2/(2 + 25.1) = 7.011070; R = 86.188930
        // MOS = 1 + 3.016613 + 86.188930·26.188930·13.811070·7e-6 = 4.234833
        let r = r_factor(&EModelInput::g711(0.0, 2.0));
        assert!(close(r, 86.188930), "{r}");
        assert!(close(mos_from_r(r), 4.234833), "{}", mos_from_r(r));
    }

    #[test]
    fn heavy_loss_without_plc_is_poor() {
        // Bpl 4.3, 10 % loss: Ie,eff = 95·10/14.3 = 66.433566; R = 26.766434
        let input = EModelInput { bpl: G711_BPL_NO_PLC, ..EModelInput::g711(0.0, 10.0) };
        let r = r_factor(&input);
        assert!(close(r, 26.766434), "{r}");
        assert!(mos_from_r(r) < 1.8);
    }

    #[test]
    fn mos_is_bounded() {
        assert_eq!(mos_from_r(-20.0), 1.0);
        assert_eq!(mos_from_r(120.0), 4.5);
        assert_eq!(mos_from_r(f64::NAN), 1.0);
    }

    #[test]
    fn summary_derives_delay_from_rtt_buffer_and_packetisation() {
        let s = QualitySummary::from_inputs(&QualityInputs {
            packets_expected: 1000,
            packets_received: 980,
            mean_jitter_ms: 5.0,
            max_jitter_ms: 12.0,
            rtt_ms: Some(100.0),
            jitter_buffer_ms: 40.0,
        });
        assert_eq!(s.packets_lost, 20);
        assert!(close(s.loss_percent, 2.0));
        assert!(close(s.one_way_delay_ms, 110.0));
        // Id = 2.64; Ie,eff = 7.011070; R = 83.548930
        assert!(close(s.r_factor, 83.548930), "{}", s.r_factor);
    }
}

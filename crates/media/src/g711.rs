//! G.711 µ-law and A-law (ITU-T G.711), table-driven: every function here is a table look-up
//! computed at compile time, so encoding, decoding and µ↔A transcoding cost one load per sample.
//!
//! The tables follow the ITU-T G.191 reference (one's-complement magnitude for negative samples,
//! 14-bit µ-law and 13-bit A-law input); tests check them against a transliteration of that
//! reference for all 65536 inputs and all 256 codes. Must never: allocate or branch per sample.

/// µ-law bias added to the 14-bit magnitude before segment search.
const ULAW_BIAS: i32 = 33;
/// Largest biased µ-law magnitude.
const ULAW_MAX: i32 = 0x1fff;

const fn ulaw_decode_ref(code: u8) -> i16 {
    let inv = !code;
    let exponent = ((inv >> 4) & 0x07) as i32;
    let mantissa = (inv & 0x0f) as i32;
    // Centre of the quantisation interval, in 14-bit units, then scaled to 16 bits.
    let magnitude = (((mantissa << 1) | 0x21) << exponent) - ULAW_BIAS;
    let linear = magnitude << 2;
    if code & 0x80 != 0 { linear as i16 } else { -linear as i16 }
}

const fn alaw_decode_ref(code: u8) -> i16 {
    let v = code ^ 0x55;
    let exponent = ((v >> 4) & 0x07) as i32;
    let mantissa = (v & 0x0f) as i32;
    let magnitude = if exponent == 0 { (mantissa << 4) + 8 } else { ((mantissa << 4) + 0x108) << (exponent - 1) };
    if code & 0x80 != 0 { magnitude as i16 } else { -magnitude as i16 }
}

/// Encodes a 14-bit µ-law index (the sample shifted right by two, sign included).
const fn ulaw_encode_index(index14: i32) -> u8 {
    // One's complement for negatives, as G.191 does: -1 maps to magnitude 0.
    let (magnitude, sign) = if index14 < 0 { (!index14, 0x00) } else { (index14, 0x80) };
    let mut biased = magnitude + ULAW_BIAS;
    if biased > ULAW_MAX {
        biased = ULAW_MAX;
    }
    // Segment = position of the highest set bit above bit 5.
    let mut segment = 0;
    let mut top = biased >> 6;
    while top != 0 {
        segment += 1;
        top >>= 1;
    }
    let step = ((biased >> (segment + 1)) & 0x0f) as u8;
    let code = ((segment as u8) << 4) | step;
    (!code & 0x7f) | sign
}

/// Encodes a 12-bit A-law magnitude index (the sample shifted right by four, sign included).
const fn alaw_encode_index(index12: i32) -> u8 {
    let (magnitude, sign) = if index12 < 0 { (!index12, 0x00) } else { (index12, 0x80) };
    let mut segment = 0;
    let mut top = magnitude >> 4;
    while top != 0 {
        segment += 1;
        top >>= 1;
    }
    let mantissa = if segment == 0 { magnitude & 0x0f } else { (magnitude >> (segment - 1)) & 0x0f };
    let code = ((segment as u8) << 4) | mantissa as u8 | sign;
    code ^ 0x55
}

const fn build_ulaw_decode() -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = ulaw_decode_ref(i as u8);
        i += 1;
    }
    t
}

const fn build_alaw_decode() -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = alaw_decode_ref(i as u8);
        i += 1;
    }
    t
}

/// Indexed by the 14-bit two's-complement pattern `(sample >> 2) & 0x3fff`.
const fn build_ulaw_encode() -> [u8; 16384] {
    let mut t = [0u8; 16384];
    let mut i = 0;
    while i < 16384 {
        let signed = if i >= 8192 { i as i32 - 16384 } else { i as i32 };
        t[i] = ulaw_encode_index(signed);
        i += 1;
    }
    t
}

/// Indexed by the 12-bit two's-complement pattern `(sample >> 4) & 0x0fff`.
const fn build_alaw_encode() -> [u8; 4096] {
    let mut t = [0u8; 4096];
    let mut i = 0;
    while i < 4096 {
        let signed = if i >= 2048 { i as i32 - 4096 } else { i as i32 };
        t[i] = alaw_encode_index(signed);
        i += 1;
    }
    t
}

const fn build_ulaw_to_alaw() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = ALAW_ENCODE[((ULAW_DECODE[i] >> 4) as usize) & 0x0fff];
        i += 1;
    }
    t
}

const fn build_alaw_to_ulaw() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = ULAW_ENCODE[((ALAW_DECODE[i] >> 2) as usize) & 0x3fff];
        i += 1;
    }
    t
}

static ULAW_DECODE: [i16; 256] = build_ulaw_decode();
static ALAW_DECODE: [i16; 256] = build_alaw_decode();
static ULAW_ENCODE: [u8; 16384] = build_ulaw_encode();
static ALAW_ENCODE: [u8; 4096] = build_alaw_encode();
static ULAW_TO_ALAW: [u8; 256] = build_ulaw_to_alaw();
static ALAW_TO_ULAW: [u8; 256] = build_alaw_to_ulaw();

/// µ-law code → 16-bit linear sample.
#[inline]
pub fn ulaw_to_linear(code: u8) -> i16 {
    ULAW_DECODE[usize::from(code)]
}

/// A-law code → 16-bit linear sample.
#[inline]
pub fn alaw_to_linear(code: u8) -> i16 {
    ALAW_DECODE[usize::from(code)]
}

/// 16-bit linear sample → µ-law code.
#[inline]
pub fn linear_to_ulaw(sample: i16) -> u8 {
    ULAW_ENCODE[((sample >> 2) as usize) & 0x3fff]
}

/// 16-bit linear sample → A-law code.
#[inline]
pub fn linear_to_alaw(sample: i16) -> u8 {
    ALAW_ENCODE[((sample >> 4) as usize) & 0x0fff]
}

/// µ-law code → A-law code (decode then encode, precomputed).
#[inline]
pub fn ulaw_to_alaw(code: u8) -> u8 {
    ULAW_TO_ALAW[usize::from(code)]
}

/// A-law code → µ-law code (decode then encode, precomputed).
#[inline]
pub fn alaw_to_ulaw(code: u8) -> u8 {
    ALAW_TO_ULAW[usize::from(code)]
}

/// The µ-law code of silence (positive zero).
pub const ULAW_SILENCE: u8 = 0xff;
/// The A-law code of silence (smallest positive step).
pub const ALAW_SILENCE: u8 = 0xd5;

#[cfg(test)]
mod tests {
    use super::*;

    /// ITU-T G.191 `ulaw_compress`, transliterated sample by sample.
    fn g191_ulaw_compress(x: i16) -> u8 {
        let x = i32::from(x);
        let mut absno = if x < 0 { ((!x) >> 2) + 33 } else { (x >> 2) + 33 };
        if absno > 0x1fff {
            absno = 0x1fff;
        }
        let mut i = absno >> 6;
        let mut segno = 1;
        while i != 0 {
            segno += 1;
            i >>= 1;
        }
        let high = 0x8 - segno;
        let low = 0xf - ((absno >> segno) & 0xf);
        let mut out = (high << 4) | low;
        if x >= 0 {
            out |= 0x80;
        }
        out as u8
    }

    /// ITU-T G.191 `ulaw_expand`.
    fn g191_ulaw_expand(code: u8) -> i16 {
        let sign = if code < 0x80 { -1 } else { 1 };
        let mantissa = !i32::from(code);
        let exponent = (mantissa >> 4) & 0x7;
        let segment = exponent + 1;
        let mantissa = mantissa & 0xf;
        let step = 4 << segment;
        (sign * ((0x80 << exponent) + step * mantissa + step / 2 - 4 * 33)) as i16
    }

    /// ITU-T G.191 `alaw_compress`.
    fn g191_alaw_compress(x: i16) -> u8 {
        let x = i32::from(x);
        let mut ix = if x < 0 { (!x) >> 4 } else { x >> 4 };
        if ix > 15 {
            let mut iexp = 1;
            while ix > 16 + 15 {
                ix >>= 1;
                iexp += 1;
            }
            ix -= 16;
            ix += iexp << 4;
        }
        if x >= 0 {
            ix |= 0x80;
        }
        (ix ^ 0x55) as u8
    }

    /// ITU-T G.191 `alaw_expand`.
    fn g191_alaw_expand(code: u8) -> i16 {
        let ix = i32::from(code ^ 0x55) & 0x7f;
        let iexp = ix >> 4;
        let mut mant = ix & 0xf;
        if iexp > 0 {
            mant += 16;
        }
        mant = (mant << 4) + 8;
        if iexp > 1 {
            mant <<= iexp - 1;
        }
        (if code > 127 { mant } else { -mant }) as i16
    }

    #[test]
    fn ulaw_decoding_matches_the_reference_for_all_256_codes() {
        for code in 0..=255u8 {
            assert_eq!(ulaw_to_linear(code), g191_ulaw_expand(code), "code {code:#04x}");
        }
    }

    #[test]
    fn alaw_decoding_matches_the_reference_for_all_256_codes() {
        for code in 0..=255u8 {
            assert_eq!(alaw_to_linear(code), g191_alaw_expand(code), "code {code:#04x}");
        }
    }

    #[test]
    fn ulaw_encoding_matches_the_reference_for_every_16_bit_sample() {
        for s in i16::MIN..=i16::MAX {
            assert_eq!(linear_to_ulaw(s), g191_ulaw_compress(s), "sample {s}");
        }
    }

    #[test]
    fn alaw_encoding_matches_the_reference_for_every_16_bit_sample() {
        for s in i16::MIN..=i16::MAX {
            assert_eq!(linear_to_alaw(s), g191_alaw_compress(s), "sample {s}");
        }
    }

    #[test]
    fn well_known_codes_decode_to_the_published_values() {
        assert_eq!((ulaw_to_linear(0xff), ulaw_to_linear(0x7f)), (0, 0));
        assert_eq!((ulaw_to_linear(0x80), ulaw_to_linear(0x00)), (32124, -32124));
        assert_eq!((alaw_to_linear(0xd5), alaw_to_linear(0x55)), (8, -8));
        assert_eq!((alaw_to_linear(0xaa), alaw_to_linear(0x2a)), (32256, -32256));
        assert_eq!((linear_to_ulaw(0), linear_to_alaw(0)), (ULAW_SILENCE, ALAW_SILENCE));
    }

    #[test]
    fn every_code_survives_decode_then_encode() {
        for code in 0..=255u8 {
            let expected_ulaw = if code == 0x7f { 0xff } else { code }; // negative zero folds to positive
            assert_eq!(linear_to_ulaw(ulaw_to_linear(code)), expected_ulaw, "µ {code:#04x}");
            assert_eq!(linear_to_alaw(alaw_to_linear(code)), code, "A {code:#04x}");
        }
    }

    #[test]
    fn encoding_error_stays_within_half_a_quantisation_step() {
        for s in (i16::MIN..=i16::MAX).step_by(7) {
            let u = i32::from(ulaw_to_linear(linear_to_ulaw(s)));
            let a = i32::from(alaw_to_linear(linear_to_alaw(s)));
            let x = i32::from(s);
            // Largest step is 1024 (µ) / 1024 (A) in 16-bit units; clipped peaks are the exception.
            if x.abs() < 32000 {
                assert!((u - x).abs() <= 512 + 4, "µ {s} -> {u}");
                assert!((a - x).abs() <= 512 + 16, "A {s} -> {a}");
            }
        }
    }

    #[test]
    fn transcoding_equals_decoding_then_encoding() {
        for code in 0..=255u8 {
            assert_eq!(ulaw_to_alaw(code), linear_to_alaw(ulaw_to_linear(code)));
            assert_eq!(alaw_to_ulaw(code), linear_to_ulaw(alaw_to_linear(code)));
        }
    }

    #[test]
    fn transcoding_there_and_back_moves_a_sample_by_at_most_one_step() {
        for code in 0..=255u8 {
            let back = alaw_to_ulaw(ulaw_to_alaw(code));
            let (a, b) = (i32::from(ulaw_to_linear(code)), i32::from(ulaw_to_linear(back)));
            let step = (a.abs() / 16).max(16);
            assert!((a - b).abs() <= step * 2, "code {code:#04x}: {a} vs {b}");
        }
    }
}

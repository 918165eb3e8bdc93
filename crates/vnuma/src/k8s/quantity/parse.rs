//! Reading a quantity: Kubernetes' `ParseQuantity` (`parseQuantityString`, the suffix table,
//! the int64 fast path and the exact `inf.Dec` path).

use std::cmp::Ordering;

use super::digits::{Digits, cmp_magnitude};
use super::{Format, Quantity, QuantityError, len_i64_usize};

/// Parses `text` as Kubernetes' `ParseQuantity` does, with its errors ([`Quantity::parse`]).
pub(super) fn parse(text: &str) -> Result<Quantity, QuantityError> {
    if text.is_empty() {
        return Err(QuantityError::Format);
    }
    if text == "0" {
        return Ok(Quantity::zero(Format::DecimalSI));
    }
    let scanned = scan(text)?;
    let (base, exponent, format) = interpret(scanned.suffix).ok_or(QuantityError::Suffix)?;

    let num_len = len_i64(scanned.num);
    let denom_len = len_i64(scanned.denom);
    // Kubernetes' int64 fast path: small enough numbers at a scale of at least 10⁻⁹. At most
    // `maxInt64Factors` (18) digits take it, so 19 digits go the exact way and never
    // overflow (`regression_nineteen_digits_parse`).
    let precision = match base {
        Base::Ten => 18 - num_len.saturating_add(denom_len),
        Base::Two if scanned.denom.is_empty() => 14i64.saturating_sub(num_len) - exponent * 3 / 10,
        Base::Two => -1,
    };
    let scale = match base {
        Base::Ten => exponent,
        Base::Two => 0,
    } - denom_len;
    if precision >= 0
        && scale >= -9
        && let Some(quantity) = fast_path(text, &scanned, base, exponent, scale, format)?
    {
        return Ok(quantity);
    }
    slow_path(&scanned, base, exponent, format)
}

/// The pieces Kubernetes' `parseQuantityString` splits a quantity into.
struct Scanned<'a> {
    /// No leading `-`.
    positive: bool,
    /// The numeric part as written: sign, digits, point.
    value: &'a str,
    /// The integer digits without leading zeros, `"0"` when there are none.
    num: &'a str,
    /// The fraction digits.
    denom: &'a str,
    /// Everything after the number.
    suffix: &'a str,
}

/// The base a suffix scales by.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Base {
    /// Powers of ten.
    Ten,
    /// Powers of two.
    Two,
}

/// The characters Kubernetes lets a suffix start with.
const SUFFIX_LETTERS: &[u8] = b"eEinumkKMGTP";

/// Kubernetes' `parseQuantityString`, byte for byte.
fn scan(text: &str) -> Result<Scanned<'_>, QuantityError> {
    let bytes = text.as_bytes();
    let end = bytes.len();
    let mut positive = true;
    let mut pos = 0;
    match bytes.first() {
        Some(b'-') => {
            positive = false;
            pos = 1;
        }
        Some(b'+') => pos = 1,
        _ => {}
    }
    while pos < end && bytes[pos] == b'0' {
        pos += 1;
    }
    if pos >= end {
        return Ok(Scanned {
            positive,
            value: "0",
            num: "0",
            denom: "",
            suffix: "",
        });
    }
    let num_start = pos;
    pos = skip_digits(bytes, pos);
    if pos >= end {
        let num = &text[num_start..];
        return Ok(Scanned {
            positive,
            value: text,
            num,
            denom: "",
            suffix: "",
        });
    }
    let num = if pos == num_start {
        "0"
    } else {
        &text[num_start..pos]
    };
    let mut denom = "";
    if bytes[pos] == b'.' {
        pos += 1;
        let denom_start = pos;
        pos = skip_digits(bytes, pos);
        if pos >= end {
            let denom = &text[denom_start..];
            return Ok(Scanned {
                positive,
                value: text,
                num,
                denom,
                suffix: "",
            });
        }
        denom = &text[denom_start..pos];
    }
    let value = &text[..pos];
    let suffix_start = pos;
    while pos < end && SUFFIX_LETTERS.contains(&bytes[pos]) {
        pos += 1;
    }
    if pos < end && matches!(bytes[pos], b'-' | b'+') {
        pos += 1;
    }
    if skip_digits(bytes, pos) < end {
        return Err(QuantityError::Format);
    }
    Ok(Scanned {
        positive,
        value,
        num,
        denom,
        suffix: &text[suffix_start..],
    })
}

/// The position after the ASCII digits starting at `pos`.
fn skip_digits(bytes: &[u8], mut pos: usize) -> usize {
    while pos < bytes.len() && bytes[pos].is_ascii_digit() {
        pos += 1;
    }
    pos
}

/// Kubernetes' suffix table: the base, the exponent and the format a suffix means.
fn interpret(suffix: &str) -> Option<(Base, i64, Format)> {
    let decimal = |exponent| Some((Base::Ten, exponent, Format::DecimalSI));
    let binary = |exponent| Some((Base::Two, exponent, Format::BinarySI));
    match suffix {
        "" => decimal(0),
        "n" => decimal(-9),
        "u" => decimal(-6),
        "m" => decimal(-3),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        "Ki" => binary(10),
        "Mi" => binary(20),
        "Gi" => binary(30),
        "Ti" => binary(40),
        "Pi" => binary(50),
        "Ei" => binary(60),
        _ => {
            // Go's strconv.ParseInt(…, 10, 64) then a wrapping int32 conversion.
            let parsed: i64 = suffix.strip_prefix(['e', 'E'])?.parse().ok()?;
            let low = u32::try_from(parsed & 0xFFFF_FFFF).unwrap_or(0);
            Some((Base::Ten, i64::from(low.cast_signed()), Format::DecimalExponent))
        }
    }
}

/// Kubernetes' int64 fast path; `None` when the product overflows and the slow path decides.
fn fast_path(
    text: &str,
    scanned: &Scanned<'_>,
    base: Base,
    exponent: i64,
    scale: i64,
    format: Format,
) -> Result<Option<Quantity>, QuantityError> {
    let shifted = format!("{}{}", scanned.num, scanned.denom);
    let value: i64 = shifted.parse().map_err(|_| QuantityError::Numeric)?;
    let (multiplier, exponent10) = match base {
        Base::Ten => (1, scale),
        Base::Two => (
            1i64.checked_shl(u32::try_from(exponent).unwrap_or(u32::MAX))
                .unwrap_or(0),
            0,
        ),
    };
    let Some(product) = value.checked_mul(multiplier) else {
        return Ok(None);
    };
    let kept = match base {
        Base::Two => value & 0x07 != 0,
        Base::Ten => scale % 3 == 0 && !shifted.ends_with("000") && !shifted.starts_with('0'),
    };
    let mut quantity = Quantity::from_parts(
        !scanned.positive,
        Digits::from_u128(u128::from(product.unsigned_abs())),
        exponent10,
        format,
    );
    if kept && quantity.canonical() != text {
        quantity.text = Some(text.into());
    }
    Ok(Some(quantity))
}

/// Kubernetes' `inf.Dec` path: exact, rounded up to nano units, binary values capped.
fn slow_path(
    scanned: &Scanned<'_>,
    base: Base,
    exponent: i64,
    mut format: Format,
) -> Result<Quantity, QuantityError> {
    let body = scanned.value.strip_prefix(['+', '-']).unwrap_or(scanned.value);
    let (whole, fraction) = body.split_once('.').unwrap_or((body, ""));
    if whole.is_empty() && fraction.is_empty() {
        return Err(QuantityError::Numeric);
    }
    let mut digits = Digits::from_ascii(whole.as_bytes());
    digits.append_ascii(fraction.as_bytes());
    let mut exp = -len_i64(fraction);
    match base {
        Base::Ten => exp = exp.saturating_add(exponent),
        Base::Two => {
            digits.mul_small(
                1u64.checked_shl(u32::try_from(exponent).unwrap_or(u32::MAX))
                    .unwrap_or(0),
            );
        }
    }
    if !digits.is_zero() && exp < -9 {
        let drop = usize::try_from((-9 - exp).unsigned_abs()).unwrap_or(usize::MAX);
        if drop >= digits.len() {
            digits = Digits::from_u128(1);
        } else if digits.drop_low(drop) {
            digits.add_one();
        }
        exp = -9;
    }
    if format == Format::BinarySI {
        let max = Digits::from_u128(u128::from(i64::MAX.unsigned_abs()));
        if cmp_magnitude(&digits, exp, &max, 0) == Ordering::Greater {
            digits = max;
            exp = 0;
        }
        if !digits.is_zero() && cmp_magnitude(&digits, exp, &Digits::from_u128(1), 0) == Ordering::Less {
            format = Format::DecimalSI;
        }
    }
    let mut quantity = Quantity::from_parts(!scanned.positive, digits, exp, format);
    quantity.dec_rounding = quantity.negative && quantity.exponent < 0;
    Ok(quantity)
}

/// A string's length as `i64`.
fn len_i64(text: &str) -> i64 {
    len_i64_usize(text.len())
}

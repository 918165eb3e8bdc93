//! Printing a quantity: Kubernetes' canonical form (`CanonicalizeBytes`).

use std::cmp::Ordering;

use super::digits::{Digits, cmp_magnitude};
use super::{Format, Quantity};

/// The canonical form of `q` ([`Quantity::canonical`]).
pub(super) fn canonical(q: &Quantity) -> String {
    if q.is_zero() {
        return "0".to_owned();
    }
    let sign = if q.negative { "-" } else { "" };
    let mut format = q.format;
    if format == Format::BinarySI
        && (q.exponent < 0
            || cmp_magnitude(&q.digits, q.exponent, &Digits::from_u128(1024), 0) == Ordering::Less)
    {
        format = Format::DecimalSI;
    }
    if format == Format::BinarySI {
        if let Some((mantissa, suffix)) = q.base_1024() {
            return format!("{sign}{mantissa}{suffix}");
        }
        format = Format::DecimalExponent;
    }
    // Lower the exponent to a multiple of three, widening the mantissa.
    let widen = q.exponent.rem_euclid(3);
    let mut mantissa = q.digits.clone();
    mantissa.push_zeros(usize::try_from(widen).unwrap_or(0));
    let exponent = q.exponent - widen;
    let suffix = match (format, decimal_si_suffix(exponent)) {
        (Format::DecimalSI, Some(suffix)) => suffix.to_owned(),
        (_, _) if exponent == 0 => String::new(),
        (_, _) => format!("e{exponent}"),
    };
    format!("{sign}{mantissa}{suffix}")
}

impl Quantity {
    /// An integral magnitude as a mantissa and a binary suffix, if it fits one.
    fn base_1024(&self) -> Option<(u128, &'static str)> {
        let mut value = self.magnitude_at(0).map(|(whole, _)| whole)?;
        if self.negative && value == 1 << 63 {
            // Kubernetes negates i64::MIN while dividing out 1024s, overflows, and prints the
            // number whole.
            return Some((value, ""));
        }
        let mut power = 0usize;
        while value >= 1024 && value % 1024 == 0 {
            value /= 1024;
            power += 1;
        }
        let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"].get(power)?;
        Some((value, suffix))
    }
}

/// The DecimalSI suffix for a power of ten, if there is one.
fn decimal_si_suffix(exponent: i64) -> Option<&'static str> {
    Some(match exponent {
        -9 => "n",
        -6 => "u",
        -3 => "m",
        0 => "",
        3 => "k",
        6 => "M",
        9 => "G",
        12 => "T",
        15 => "P",
        18 => "E",
        _ => return None,
    })
}

//! Kubernetes `resource.Quantity`, reproduced: parsing ([`Quantity::parse`], Kubernetes'
//! `ParseQuantity`), the integer accessors ([`Quantity::value`] and [`Quantity::milli_value`],
//! Kubernetes' `Value()` and `MilliValue()`) and the printed form (`Display`, Kubernetes'
//! `String()`).
//!
//! The behaviour follows `k8s.io/apimachinery/pkg/api/resource` rule for rule, oddities included:
//!
//! - The scanner is more permissive than the regular expression its error message quotes: a
//!   lone sign (`"-"`), a lone point (`"."`) or a bare suffix (`"Gi"`, `"m"`) parse as zero, a
//!   trailing point (`"5."`) is accepted, and an exponent suffix may be signed (`"1e+3"`).
//! - A value is exact unless it has digits below 10⁻⁹: those are rounded up (away from zero)
//!   to the next nano unit, as Kubernetes does ("0.1n" is 1n, "-1.5n" is -2n).
//! - Binary-suffixed values are capped at 2⁶³−1 in magnitude; decimal ones are not capped.
//! - When the input is already "canonical" by Kubernetes' cheap test, Kubernetes remembers the
//!   input text and `String()` returns it verbatim. That test lets a few non-canonical spellings
//!   through (`"+5"`, `"05"`, `"5."`, `"1E3"`, `"5.Ki"`), and so does `Display` here;
//!   [`Quantity::canonical`] always computes the canonical form.
//!
//! Values are held exactly, as a decimal digit string times a power of ten, so no input size
//! overflows the representation.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use digits::{Digits, cmp_magnitude};
pub use text::QuantityText;

mod digits;
mod format;
mod parse;
#[cfg(test)]
mod tests;
mod text;

/// A malformed quantity, with Kubernetes' error text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum QuantityError {
    /// Kubernetes' `ErrFormatWrong`: the text cannot be split into a number and a suffix (and
    /// the empty string).
    #[error("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")]
    Format,
    /// Kubernetes' `ErrNumeric`: the number has no digit where one is needed.
    #[error("unable to parse numeric part of quantity")]
    Numeric,
    /// Kubernetes' `ErrSuffix`: the suffix is none of the known ones (e.g. `"1e"`, `"1Gi1"`).
    #[error("unable to parse quantity's suffix")]
    Suffix,
}

/// How a quantity is printed; remembered from the suffix it was parsed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// `e`/`E` exponent suffixes, printed as `12e6`.
    DecimalExponent,
    /// `Ki` … `Ei` suffixes, printed as `12Mi` (12 × 2²⁰).
    BinarySI,
    /// `n u m k M G T P E` suffixes or none, printed as `12M` (12 × 10⁶).
    DecimalSI,
}

impl Format {
    /// Kubernetes' name for the format (`"DecimalExponent"`, `"BinarySI"`, `"DecimalSI"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::DecimalExponent => "DecimalExponent",
            Format::BinarySI => "BinarySI",
            Format::DecimalSI => "DecimalSI",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A Kubernetes resource quantity: an exact signed decimal number and the [`Format`] it prints
/// in.
///
/// Equality is structural: two quantities are equal when they have the same value, the same
/// format and print the same way. Use [`Quantity::cmp_value`] to compare numbers alone.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Quantity {
    /// Whether the value is below zero (never set for zero).
    negative: bool,
    /// The magnitude's significant digits, without trailing zeros (empty for zero).
    digits: Digits,
    /// The power of ten the digits are scaled by (zero for zero).
    exponent: i64,
    /// The format printed with.
    format: Format,
    /// Kubernetes holds this value as an `inf.Dec` and it is negative and fractional, which
    /// changes how `Value()` and `MilliValue()` round it (see [`Quantity::value`]).
    dec_rounding: bool,
    /// The input text Kubernetes would print back verbatim, when it differs from the canonical
    /// form.
    text: Option<Box<str>>,
}

impl Quantity {
    /// Parses `text` as Kubernetes' `ParseQuantity` does, with its errors.
    ///
    /// No whitespace is allowed anywhere (Kubernetes trims it only when decoding JSON).
    pub fn parse(text: &str) -> Result<Quantity, QuantityError> {
        parse::parse(text)
    }

    /// A quantity of `value` units in `format` (Kubernetes' `NewQuantity`).
    pub fn new(value: i64, format: Format) -> Quantity {
        Quantity::from_parts(
            value < 0,
            Digits::from_u128(u128::from(value.unsigned_abs())),
            0,
            format,
        )
    }

    /// A byte count in [`Format::BinarySI`], e.g. for printing sums of memory sizes
    /// (`from_bytes_binary(1 << 30)` prints `1Gi`).
    pub fn from_bytes_binary(bytes: i64) -> Quantity {
        Quantity::new(bytes, Format::BinarySI)
    }

    /// The format the quantity prints in.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Whether the quantity is below zero.
    pub fn is_negative(&self) -> bool {
        self.negative
    }

    /// Whether the quantity is zero.
    pub fn is_zero(&self) -> bool {
        self.digits.is_zero()
    }

    /// Kubernetes' `Value()`: the value as a whole number, rounded up (away from zero) and
    /// saturated at the bounds of `i64`.
    ///
    /// One Kubernetes quirk is kept: a negative, fractional value that Kubernetes holds in its
    /// arbitrary-precision form (more than 18 digits, digits below 10⁻⁹, `Pi`/`Ei` or fractional
    /// binary suffixes) is rounded toward zero and then incremented when it is smaller than
    /// about 9.2×10⁹ in magnitude, and rounded toward zero beyond that: `"-0.1Gi"` gives
    /// −107374181, where `"-107374182.4"` gives −107374183.
    pub fn value(&self) -> i64 {
        self.scaled_value(0)
    }

    /// Kubernetes' `MilliValue()`: the value in thousandths, rounded as [`Quantity::value`]
    /// and saturated at the bounds of `i64`.
    pub fn milli_value(&self) -> i64 {
        self.scaled_value(3)
    }

    /// The value in bytes ([`Quantity::value`]) for a memory size; `None` when negative.
    pub fn bytes(&self) -> Option<u64> {
        if self.negative {
            return None;
        }
        u64::try_from(self.value()).ok()
    }

    /// Compares the numbers alone, whatever their formats (Kubernetes' `Cmp`).
    pub fn cmp_value(&self, other: &Quantity) -> Ordering {
        match (self.negative, other.negative) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => cmp_magnitude(&self.digits, self.exponent, &other.digits, other.exponent),
            (true, true) => cmp_magnitude(&other.digits, other.exponent, &self.digits, self.exponent),
        }
    }

    /// The canonical form (Kubernetes' `CanonicalizeBytes`), ignoring any input text that
    /// `Display` would repeat.
    ///
    /// The largest suffix that keeps the mantissa a whole number: `1.5` is `1500m`, `1.5Gi`
    /// is `1536Mi`, `1000` is `1k`. A [`Format::BinarySI`] value that is fractional or below
    /// 1024 in magnitude prints in [`Format::DecimalSI`] (`0.1Ki` is `102400m`). A
    /// [`Format::DecimalSI`] value beyond the `E` suffix prints with an exponent (`1e21`), as
    /// Kubernetes does since it stopped dropping the magnitude there.
    pub fn canonical(&self) -> String {
        format::canonical(self)
    }

    /// Zero in `format`.
    fn zero(format: Format) -> Quantity {
        Quantity::from_parts(false, Digits::default(), 0, format)
    }

    /// A quantity of `digits` × 10^`exponent`, normalized.
    fn from_parts(negative: bool, mut digits: Digits, exponent: i64, format: Format) -> Quantity {
        let zeros = digits.trailing_zeros();
        digits.drop_low(zeros);
        let exponent = exponent.saturating_add(len_i64_usize(zeros));
        let zero = digits.is_zero();
        Quantity {
            negative: negative && !zero,
            digits,
            exponent: if zero { 0 } else { exponent },
            format,
            dec_rounding: false,
            text: None,
        }
    }

    /// The magnitude times 10^`shift`: its whole part (`None` beyond `u128`) and whether a
    /// fraction was dropped.
    fn magnitude_at(&self, shift: i64) -> Option<(u128, bool)> {
        let scale = self.exponent.saturating_add(shift);
        if scale >= 0 {
            if len_i64_usize(self.digits.len()).saturating_add(scale) > 38 {
                return None;
            }
            let mut whole = self.digits.to_u128()?;
            for _ in 0..scale {
                whole = whole.checked_mul(10)?;
            }
            Some((whole, false))
        } else {
            let mut whole = self.digits.clone();
            let fraction = whole.drop_low(usize::try_from(scale.unsigned_abs()).unwrap_or(usize::MAX));
            Some((whole.to_u128()?, fraction))
        }
    }

    /// Kubernetes' `ScaledValue`: the value times 10^`shift`, rounded up, saturated.
    fn scaled_value(&self, shift: i64) -> i64 {
        if self.is_zero() {
            return 0;
        }
        let Some((whole, fraction)) = self.magnitude_at(shift) else {
            return if self.negative { i64::MIN } else { i64::MAX };
        };
        if !self.negative {
            return i64::try_from(whole.saturating_add(u128::from(fraction))).unwrap_or(i64::MAX);
        }
        if !self.dec_rounding {
            return negate(whole.saturating_add(u128::from(fraction)));
        }
        // Kubernetes' inf.Dec path: below 2⁶³−1 nano units it truncates and adds one when a
        // fraction is dropped; beyond, it floors (Euclidean division) and adds one, i.e. it
        // rounds a negative value toward zero.
        let max = Digits::from_u128(u128::from(i64::MAX.unsigned_abs()));
        if cmp_magnitude(&self.digits, self.exponent.saturating_add(9), &max, 0) == Ordering::Less {
            negate(whole).saturating_add(i64::from(fraction))
        } else {
            negate(whole)
        }
    }
}

impl FromStr for Quantity {
    type Err = QuantityError;

    fn from_str(text: &str) -> Result<Quantity, QuantityError> {
        Quantity::parse(text)
    }
}

/// Kubernetes' `String()`: the remembered input text when Kubernetes keeps it, else
/// [`Quantity::canonical`].
impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.text {
            Some(text) => f.write_str(text),
            None => f.write_str(&self.canonical()),
        }
    }
}

/// `-magnitude`, saturated at `i64::MIN`.
fn negate(magnitude: u128) -> i64 {
    i64::try_from(magnitude).map_or(i64::MIN, |value| -value)
}

/// A length as `i64`, saturated.
fn len_i64_usize(len: usize) -> i64 {
    i64::try_from(len).unwrap_or(i64::MAX)
}

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
        if self.is_zero() {
            return "0".to_owned();
        }
        let sign = if self.negative { "-" } else { "" };
        let mut format = self.format;
        if format == Format::BinarySI
            && (self.exponent < 0
                || cmp_magnitude(&self.digits, self.exponent, &Digits::from_u128(1024), 0) == Ordering::Less)
        {
            format = Format::DecimalSI;
        }
        if format == Format::BinarySI {
            if let Some((mantissa, suffix)) = self.base_1024() {
                return format!("{sign}{mantissa}{suffix}");
            }
            format = Format::DecimalExponent;
        }
        // Lower the exponent to a multiple of three, widening the mantissa.
        let widen = self.exponent.rem_euclid(3);
        let mut mantissa = self.digits.clone();
        mantissa.push_zeros(usize::try_from(widen).unwrap_or(0));
        let exponent = self.exponent - widen;
        let suffix = match (format, decimal_si_suffix(exponent)) {
            (Format::DecimalSI, Some(suffix)) => suffix.to_owned(),
            (_, _) if exponent == 0 => String::new(),
            (_, _) => format!("e{exponent}"),
        };
        format!("{sign}{mantissa}{suffix}")
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

/// `-magnitude`, saturated at `i64::MIN`.
fn negate(magnitude: u128) -> i64 {
    i64::try_from(magnitude).map_or(i64::MIN, |value| -value)
}

/// A string's length as `i64`.
fn len_i64(text: &str) -> i64 {
    len_i64_usize(text.len())
}

/// A length as `i64`, saturated.
fn len_i64_usize(len: usize) -> i64 {
    i64::try_from(len).unwrap_or(i64::MAX)
}

/// Compares `a` × 10^`a_exp` with `b` × 10^`b_exp` without expanding either.
fn cmp_magnitude(a: &Digits, a_exp: i64, b: &Digits, b_exp: i64) -> Ordering {
    match (a.is_zero(), b.is_zero()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Less,
        (false, true) => return Ordering::Greater,
        (false, false) => {}
    }
    let order =
        |digits: &Digits, exp: i64| i128::from(exp) + i128::try_from(digits.len()).unwrap_or(i128::MAX);
    order(a, a_exp).cmp(&order(b, b_exp)).then_with(|| {
        for i in 0..a.len().max(b.len()) {
            let x = a.0.get(i).copied().unwrap_or(0);
            let y = b.0.get(i).copied().unwrap_or(0);
            if x != y {
                return x.cmp(&y);
            }
        }
        Ordering::Equal
    })
}

/// A non-negative integer as decimal digits, most significant first, without leading zeros
/// (empty for zero).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
struct Digits(Vec<u8>);

impl Digits {
    /// From ASCII digits.
    fn from_ascii(ascii: &[u8]) -> Digits {
        let mut digits = Digits::default();
        digits.append_ascii(ascii);
        digits
    }

    /// From a number.
    fn from_u128(mut value: u128) -> Digits {
        let mut digits = Vec::new();
        while value > 0 {
            digits.push(digit(value % 10));
            value /= 10;
        }
        digits.reverse();
        Digits(digits)
    }

    /// Appends ASCII digits at the low end (multiplying by 10 for each).
    fn append_ascii(&mut self, ascii: &[u8]) {
        for &byte in ascii {
            let d = byte.wrapping_sub(b'0');
            if !(self.0.is_empty() && d == 0) {
                self.0.push(d);
            }
        }
    }

    /// Whether the number is zero.
    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of digits.
    fn len(&self) -> usize {
        self.0.len()
    }

    /// The number of zero digits at the low end.
    fn trailing_zeros(&self) -> usize {
        self.0.iter().rev().take_while(|&&d| d == 0).count()
    }

    /// Drops the `count` lowest digits (dividing, rounding down); true when one was non-zero.
    fn drop_low(&mut self, count: usize) -> bool {
        let keep = self.0.len().saturating_sub(count);
        let inexact = self.0[keep..].iter().any(|&d| d != 0);
        self.0.truncate(keep);
        inexact
    }

    /// Multiplies by 10^`count`.
    fn push_zeros(&mut self, count: usize) {
        if !self.is_zero() {
            self.0.resize(self.0.len() + count, 0);
        }
    }

    /// Adds one.
    fn add_one(&mut self) {
        for d in self.0.iter_mut().rev() {
            if *d == 9 {
                *d = 0;
            } else {
                *d += 1;
                return;
            }
        }
        self.0.insert(0, 1);
    }

    /// Multiplies by `factor`.
    fn mul_small(&mut self, factor: u64) {
        if factor == 0 {
            self.0.clear();
            return;
        }
        let mut carry = 0u128;
        for d in self.0.iter_mut().rev() {
            let product = u128::from(*d) * u128::from(factor) + carry;
            *d = digit(product % 10);
            carry = product / 10;
        }
        while carry > 0 {
            self.0.insert(0, digit(carry % 10));
            carry /= 10;
        }
    }

    /// The number, if it fits.
    fn to_u128(&self) -> Option<u128> {
        self.0
            .iter()
            .try_fold(0u128, |acc, &d| acc.checked_mul(10)?.checked_add(u128::from(d)))
    }
}

impl fmt::Display for Digits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("0");
        }
        self.0
            .iter()
            .try_for_each(|&d| write!(f, "{}", char::from(b'0' + d)))
    }
}

/// A value below ten as a digit.
fn digit(value: u128) -> u8 {
    u8::try_from(value).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::Format::{BinarySI, DecimalExponent, DecimalSI};
    use super::*;

    /// Parses what must parse.
    fn parsed(text: &str) -> Quantity {
        Quantity::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    const MAX: i64 = i64::MAX;
    const MIN: i64 = i64::MIN;

    /// Input, `String()`, canonical form, `Value()`, `MilliValue()`, format. Every row was
    /// checked against k8s.io/apimachinery's own code, except where a comment says otherwise.
    #[rustfmt::skip]
    const TABLE: &[(&str, &str, &str, i64, i64, Format)] = &[
        // Binary suffixes.
        ("64Mi", "64Mi", "64Mi", 67108864, 67108864000, BinarySI),
        ("1024Ki", "1Mi", "1Mi", 1048576, 1048576000, BinarySI),
        ("0.5Gi", "512Mi", "512Mi", 536870912, 536870912000, BinarySI),
        (".5Gi", "512Mi", "512Mi", 536870912, 536870912000, BinarySI),
        ("1536Mi", "1536Mi", "1536Mi", 1610612736, 1610612736000, BinarySI),
        ("1.5Gi", "1536Mi", "1536Mi", 1610612736, 1610612736000, BinarySI),
        ("100Ki", "100Ki", "100Ki", 102400, 102400000, BinarySI),
        ("1Ki", "1Ki", "1Ki", 1024, 1024000, BinarySI),
        ("1025Ki", "1025Ki", "1025Ki", 1049600, 1049600000, BinarySI),
        ("307200Ki", "300Mi", "300Mi", 314572800, 314572800000, BinarySI),
        ("1025024Mi", "1001Gi", "1001Gi", 1074815565824, 1074815565824000, BinarySI),
        ("2.5Mi", "2560Ki", "2560Ki", 2621440, 2621440000, BinarySI),
        ("1Pi", "1Pi", "1Pi", 1125899906842624, 1125899906842624000, BinarySI),
        ("-1Gi", "-1Gi", "-1Gi", -1073741824, -1073741824000, BinarySI),
        ("-1023Ki", "-1023Ki", "-1023Ki", -1047552, -1047552000, BinarySI),
        // Whole but not a multiple of 1024: no suffix.
        ("1.5Ki", "1536", "1536", 1536, 1536000, BinarySI),
        // Below 1024 or fractional: printed as DecimalSI.
        ("0.1Ki", "102400m", "102400m", 103, 102400, BinarySI),
        ("0.001Ki", "1024m", "1024m", 2, 1024, BinarySI),
        ("0.0009765625Ki", "1", "1", 1, 1000, BinarySI),
        // Below 1 after rounding: the format itself becomes DecimalSI.
        ("0.000000000001Ki", "2n", "2n", 1, 1, DecimalSI),
        // Binary values are capped at 2^63-1; MilliValue saturates (Kubernetes wraps).
        ("8Ei", "9223372036854775807", "9223372036854775807", MAX, MAX, BinarySI),
        ("9223372036854775807Ki", "9223372036854775807", "9223372036854775807", MAX, MAX, BinarySI),
        ("-9Ei", "-9223372036854775807", "-9223372036854775807", -MAX, MIN, BinarySI),
        ("1Ei", "1Ei", "1Ei", 1152921504606846976, MAX, BinarySI),
        // Decimal suffixes.
        ("1000", "1k", "1k", 1000, 1000000, DecimalSI),
        ("1023", "1023", "1023", 1023, 1023000, DecimalSI),
        ("800m", "800m", "800m", 1, 800, DecimalSI),
        ("0.8", "800m", "800m", 1, 800, DecimalSI),
        ("0", "0", "0", 0, 0, DecimalSI),
        ("00", "0", "0", 0, 0, DecimalSI),
        ("-0", "0", "0", 0, 0, DecimalSI),
        ("500M", "500M", "500M", 500000000, 500000000000, DecimalSI),
        ("1.5", "1500m", "1500m", 2, 1500, DecimalSI),
        ("1.5k", "1500", "1500", 1500, 1500000, DecimalSI),
        ("-1.5", "-1500m", "-1500m", -2, -1500, DecimalSI),
        ("-2.5m", "-2500u", "-2500u", -1, -3, DecimalSI),
        ("1.0005", "1000500u", "1000500u", 2, 1001, DecimalSI),
        ("0.0005", "500u", "500u", 1, 1, DecimalSI),
        ("1234.5678m", "1234567800n", "1234567800n", 2, 1235, DecimalSI),
        ("1n", "1n", "1n", 1, 1, DecimalSI),
        (".001", "1m", "1m", 1, 1, DecimalSI),
        (".0001k", "100m", "100m", 1, 100, DecimalSI),
        ("1E", "1E", "1E", 1000000000000000000, MAX, DecimalSI),
        ("12E", "12E", "12E", MAX, MAX, DecimalSI),
        ("100E", "100E", "100E", MAX, MAX, DecimalSI),
        // Beyond the E suffix: "1e21", as Kubernetes prints it since it stopped dropping the
        // magnitude (older Kubernetes printed "1").
        ("1000E", "1e21", "1e21", MAX, MAX, DecimalSI),
        // Decimal values are not capped; Value saturates (Kubernetes returns garbage here).
        ("99999999999999999999", "99999999999999999999", "99999999999999999999", MAX, MAX, DecimalSI),
        ("9223372036854775807", "9223372036854775807", "9223372036854775807", MAX, MAX, DecimalSI),
        // Exponents.
        ("1e3", "1e3", "1e3", 1000, 1000000, DecimalExponent),
        ("1.5e3", "1500", "1500", 1500, 1500000, DecimalExponent),
        ("1e-8", "10e-9", "10e-9", 1, 1, DecimalExponent),
        ("1e18", "1e18", "1e18", 1000000000000000000, MAX, DecimalExponent),
        ("1e19", "10e18", "10e18", MAX, MAX, DecimalExponent),
        ("1e100", "10e99", "10e99", MAX, MAX, DecimalExponent),
        // Rounded up to nano units.
        ("3.001n", "4n", "4n", 1, 1, DecimalSI),
        ("0.9n", "1n", "1n", 1, 1, DecimalSI),
        ("0.00000012345", "124n", "124n", 1, 1, DecimalSI),
        ("1.1E-9", "2e-9", "2e-9", 1, 1, DecimalExponent),
        ("1.00000000001", "1000000001n", "1000000001n", 2, 1001, DecimalSI),
        // Kubernetes' "already canonical" test keeps these spellings verbatim.
        ("1E-3", "1E-3", "1e-3", 1, 1, DecimalExponent),
        ("1e+3", "1e+3", "1e3", 1000, 1000000, DecimalExponent),
        ("1E3", "1E3", "1e3", 1000, 1000000, DecimalExponent),
        ("1e03", "1e03", "1e3", 1000, 1000000, DecimalExponent),
        ("123.456e-3", "123.456e-3", "123456e-6", 1, 124, DecimalExponent),
        ("5.", "5.", "5", 5, 5000, DecimalSI),
        ("1.", "1.", "1", 1, 1000, DecimalSI),
        ("1.G", "1.G", "1G", 1000000000, 1000000000000, DecimalSI),
        ("+5", "+5", "5", 5, 5000, DecimalSI),
        ("05", "05", "5", 5, 5000, DecimalSI),
        ("5.Ki", "5.Ki", "5Ki", 5120, 5120000, BinarySI),
        ("+5Ki", "+5Ki", "5Ki", 5120, 5120000, BinarySI),
        ("05Ki", "05Ki", "5Ki", 5120, 5120000, BinarySI),
        ("+5Ti", "+5Ti", "5Ti", 5497558138880, 5497558138880000, BinarySI),
        // …but not on the arbitrary-precision path (every Pi and Ei value).
        ("+5Pi", "5Pi", "5Pi", 5629499534213120, 5629499534213120000, BinarySI),
        // No digits at all, yet zero for Kubernetes' scanner.
        ("-", "0", "0", 0, 0, DecimalSI),
        ("+", "0", "0", 0, 0, DecimalSI),
        (".", "0", "0", 0, 0, DecimalSI),
        ("Gi", "0", "0", 0, 0, BinarySI),
        ("m", "0", "0", 0, 0, DecimalSI),
        ("e5", "0", "0", 0, 0, DecimalExponent),
        // Negative rounding: away from zero on the int64 path…
        ("-107374182.4", "-107374182400m", "-107374182400m", -107374183, -107374182400, DecimalSI),
        ("-102400u", "-102400u", "-102400u", -1, -103, DecimalSI),
        ("-20000000000.5", "-20000000000500m", "-20000000000500m", -20000000001, -20000000000500, DecimalSI),
        // …truncate-then-add-one on Kubernetes' inf.Dec path.
        ("-0.1Gi", "-107374182400m", "-107374182400m", -107374181, -107374182400, BinarySI),
        ("-1.5n", "-2n", "-2n", 1, 1, DecimalSI),
        ("-1e-10", "-1e-9", "-1e-9", 1, 1, DecimalExponent),
        ("-0.0001Ki", "-102400u", "-102400u", 1, -101, DecimalSI),
        ("-1.00000000001", "-1000000001n", "-1000000001n", 0, -999, DecimalSI),
    ];

    #[test]
    fn parses_and_prints_like_kubernetes() {
        for &(input, shown, canonical, value, milli, format) in TABLE {
            let q = parsed(input);
            assert_eq!(q.to_string(), shown, "String() of {input:?}");
            assert_eq!(q.canonical(), canonical, "canonical form of {input:?}");
            assert_eq!(q.value(), value, "Value() of {input:?}");
            assert_eq!(q.milli_value(), milli, "MilliValue() of {input:?}");
            assert_eq!(q.format(), format, "format of {input:?}");
            // The printed form parses back to the same number.
            let again = parsed(&q.to_string());
            assert_eq!(again.cmp_value(&q), Ordering::Equal, "round trip of {input:?}");
        }
    }

    #[test]
    fn rejects_like_kubernetes() {
        use QuantityError::{Format, Numeric, Suffix};
        let cases = [
            ("", Format),
            // The suffix scan stops at 'x', which is neither a sign nor a digit.
            ("64Mx", Format),
            // The second point ends the number and starts a suffix that cannot hold it.
            ("1.2.3", Format),
            ("abc", Format),
            (" 1", Format),
            ("1 ", Format),
            ("1.1.M", Format),
            ("1+1.0M", Format),
            ("0.1am", Format),
            // 'g' is not a suffix letter: a shape error, not a suffix error.
            ("1gi", Format),
            ("1KI", Format),
            ("1µ", Format),
            // Well-shaped, unknown suffixes.
            ("1Gi1", Suffix),
            ("1e", Suffix),
            ("1ee3", Suffix),
            ("1e-", Suffix),
            ("-3.01e-", Suffix),
            ("1Ki-", Suffix),
            ("0.1mi", Suffix),
            (".5i", Suffix),
            ("1i", Suffix),
            ("1k1", Suffix),
            ("--1", Suffix),
            ("1e9223372036854775808", Suffix),
            // No digit where Kubernetes' decimal parser needs one.
            ("Ei", Numeric),
            ("-Pi", Numeric),
            ("e-10", Numeric),
        ];
        for (input, error) in cases {
            assert_eq!(Quantity::parse(input), Err(error), "{input:?}");
        }
    }

    /// Found by `tests/properties.rs`: "9300000000000000.1u" printed as "9300000000000000100n",
    /// which did not parse back ("unable to parse numeric part"), because 19-digit numbers took
    /// the int64 fast path and overflowed. Kubernetes sends more than `maxInt64Factors` (18)
    /// digits the exact way, so they parse, and printing round-trips.
    #[test]
    fn regression_nineteen_digits_parse() {
        for (input, printed) in [
            ("9223372036854775808", "9223372036854775808"),
            ("9999999999.999999999", "9999999999999999999n"),
            ("9300000000000000.1u", "9300000000000000100n"),
            ("9010000000000.1Ki", "9226240000000102400m"),
        ] {
            let q = Quantity::parse(input).unwrap();
            assert_eq!(q.to_string(), printed, "{input:?}");
            let back = Quantity::parse(printed).unwrap();
            assert_eq!(back.cmp_value(&q), Ordering::Equal, "{input:?}");
        }
        assert_eq!(Quantity::parse("9223372036854775808").unwrap().value(), i64::MAX);
    }

    #[test]
    fn error_texts_are_kubernetes() {
        assert_eq!(
            QuantityError::Format.to_string(),
            "quantities must match the regular expression \
             '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        );
        assert_eq!(
            QuantityError::Numeric.to_string(),
            "unable to parse numeric part of quantity"
        );
        assert_eq!(
            QuantityError::Suffix.to_string(),
            "unable to parse quantity's suffix"
        );
    }

    #[test]
    fn accepted_but_odd_inputs() {
        // Every input the brief asked about that Kubernetes accepts.
        for (input, shown) in [("+5", "+5"), (".5Gi", "512Mi"), ("5.", "5."), ("1e3", "1e3")] {
            assert_eq!(parsed(input).to_string(), shown);
        }
        assert_eq!(parsed("1E-3").milli_value(), 1);
        assert!(parsed("-").is_zero());
        // An int32 exponent wraps as in Go: e4294967296 is e0.
        assert_eq!(parsed("1e4294967296").value(), 1);
        // Absurd exponents stay cheap (Kubernetes itself would take forever on these).
        assert_eq!(parsed("1e-2147483648").to_string(), "1e-9");
        assert_eq!(parsed("1e2147483647").value(), MAX);
        assert_eq!(parsed("-1e2147483647").value(), MIN);
    }

    #[test]
    fn new_quantities_print_like_kubernetes() {
        let cases = [
            (0, "0"),
            (1, "1"),
            (1000, "1k"),
            (1023, "1023"),
            (1024, "1Ki"),
            (-1024, "-1Ki"),
            (-1023, "-1023"),
            (1536, "1536"),
            (5000, "5000"),
            (1_048_575, "1048575"),
            (3 << 30, "3Gi"),
            (-(3 << 30), "-3Gi"),
            (1 << 62, "4Ei"),
            (MAX, "9223372036854775807"),
            // Kubernetes overflows negating i64::MIN and prints it whole.
            (MIN, "-9223372036854775808"),
        ];
        for (bytes, shown) in cases {
            let q = Quantity::from_bytes_binary(bytes);
            assert_eq!(q.to_string(), shown, "{bytes}");
            assert_eq!(q.value(), bytes);
            assert_eq!(q.format(), BinarySI);
        }
        assert_eq!(Quantity::from_bytes_binary(1 << 30), parsed("1Gi"));
        assert_eq!(Quantity::from_bytes_binary(1 << 30), parsed("1024Mi"));
        assert_eq!(Quantity::new(1500, DecimalSI).to_string(), "1500");
        assert_eq!(Quantity::new(15000, DecimalExponent).to_string(), "15e3");
    }

    #[test]
    fn accessors() {
        let q = parsed("-1Gi");
        assert!(q.is_negative());
        assert!(!q.is_zero());
        assert_eq!(q.bytes(), None);
        assert_eq!(parsed("64Mi").bytes(), Some(64 << 20));
        assert_eq!(parsed("0.5").bytes(), Some(1));
        assert_eq!(parsed("0").bytes(), Some(0));
        assert!(!parsed("-0").is_negative());
        assert_eq!("2Gi".parse::<Quantity>(), Quantity::parse("2Gi"));
        assert_eq!(BinarySI.to_string(), "BinarySI");
        assert_eq!(DecimalExponent.as_str(), "DecimalExponent");
    }

    #[test]
    fn compares_values() {
        let q = |text: &str| parsed(text);
        assert_eq!(q("1Gi").cmp_value(&q("1024Mi")), Ordering::Equal);
        assert_eq!(q("1G").cmp_value(&q("1Gi")), Ordering::Less);
        assert_eq!(q("1e3").cmp_value(&q("1k")), Ordering::Equal);
        assert_eq!(q("-1").cmp_value(&q("0")), Ordering::Less);
        assert_eq!(q("-1").cmp_value(&q("-2")), Ordering::Greater);
        assert_eq!(q("0").cmp_value(&q("-0")), Ordering::Equal);
        assert_eq!(q("1e100").cmp_value(&q("9Ei")), Ordering::Greater);
        assert_eq!(q("1n").cmp_value(&q("0")), Ordering::Greater);
        assert_eq!(q("999m").cmp_value(&q("1")), Ordering::Less);
        assert_eq!(q("1.0001").cmp_value(&q("1")), Ordering::Greater);
        // Equality is structural: same number, different formats.
        assert_ne!(q("1k"), q("1e3"));
        assert_ne!(q("1E3"), q("1e3"));
        assert_eq!(q("1.5Gi"), q("1536Mi"));
    }
}

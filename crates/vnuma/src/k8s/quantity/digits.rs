//! Exact decimal magnitudes: the digit strings quantities are held in.

use std::cmp::Ordering;
use std::fmt;

/// Compares `a` × 10^`a_exp` with `b` × 10^`b_exp` without expanding either.
pub(super) fn cmp_magnitude(a: &Digits, a_exp: i64, b: &Digits, b_exp: i64) -> Ordering {
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
pub(super) struct Digits(Vec<u8>);

impl Digits {
    /// From ASCII digits.
    pub(super) fn from_ascii(ascii: &[u8]) -> Digits {
        let mut digits = Digits::default();
        digits.append_ascii(ascii);
        digits
    }

    /// From a number.
    pub(super) fn from_u128(mut value: u128) -> Digits {
        let mut digits = Vec::new();
        while value > 0 {
            digits.push(digit(value % 10));
            value /= 10;
        }
        digits.reverse();
        Digits(digits)
    }

    /// Appends ASCII digits at the low end (multiplying by 10 for each).
    pub(super) fn append_ascii(&mut self, ascii: &[u8]) {
        for &byte in ascii {
            let d = byte.wrapping_sub(b'0');
            if !(self.0.is_empty() && d == 0) {
                self.0.push(d);
            }
        }
    }

    /// Whether the number is zero.
    pub(super) fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of digits.
    pub(super) fn len(&self) -> usize {
        self.0.len()
    }

    /// The number of zero digits at the low end.
    pub(super) fn trailing_zeros(&self) -> usize {
        self.0.iter().rev().take_while(|&&d| d == 0).count()
    }

    /// Drops the `count` lowest digits (dividing, rounding down); true when one was non-zero.
    pub(super) fn drop_low(&mut self, count: usize) -> bool {
        let keep = self.0.len().saturating_sub(count);
        let inexact = self.0[keep..].iter().any(|&d| d != 0);
        self.0.truncate(keep);
        inexact
    }

    /// Multiplies by 10^`count`.
    pub(super) fn push_zeros(&mut self, count: usize) {
        if !self.is_zero() {
            self.0.resize(self.0.len() + count, 0);
        }
    }

    /// Adds one.
    pub(super) fn add_one(&mut self) {
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
    pub(super) fn mul_small(&mut self, factor: u64) {
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
    pub(super) fn to_u128(&self) -> Option<u128> {
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

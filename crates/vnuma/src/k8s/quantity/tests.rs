//! Kubernetes' own behaviour, row by row.

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

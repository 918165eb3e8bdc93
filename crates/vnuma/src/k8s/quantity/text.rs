//! A quantity as a manifest writes it, before it is parsed.

use serde::Deserialize;

use crate::k8s::documents::DocumentError;
use crate::k8s::quantity::Quantity;

/// A Kubernetes quantity as written: a string (`64Mi`) or a bare YAML number (`4`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuantityText(pub String);

impl QuantityText {
    /// Parses it as the API server decodes a quantity (white space around it trimmed), naming
    /// the file and field path on failure; with `non_negative`, a negative value is refused too.
    ///
    /// # Errors
    /// [`DocumentError::Quantity`] with the text as written.
    pub fn parse_at(&self, origin: &str, path: &str, non_negative: bool) -> Result<Quantity, DocumentError> {
        let err = |message: String| DocumentError::Quantity {
            origin: origin.to_string(),
            path: path.to_string(),
            value: self.0.clone(),
            message,
        };
        let q = Quantity::parse(self.0.trim()).map_err(|e| err(e.to_string()))?;
        if non_negative && q.is_negative() {
            return Err(err("must be greater than or equal to 0".into()));
        }
        Ok(q)
    }
}

impl<'de> Deserialize<'de> for QuantityText {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = QuantityText;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a quantity such as 64Mi or 4")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<QuantityText, E> {
                Ok(QuantityText(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<QuantityText, E> {
                Ok(QuantityText(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<QuantityText, E> {
                Ok(QuantityText(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<QuantityText, E> {
                Ok(QuantityText(v.to_string()))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

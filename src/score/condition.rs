//! What the CVAE is conditioned on when scoring: the optical flow as
//! computed (the model as trained), or an ablation that measures how much the
//! prediction depends on it (issue #18: does the decoder use its condition?).

use candle_core::Tensor;

use crate::error::{Error, Result};

/// The flow the scorer hands the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowCondition {
    /// The clip's own flow (the default: the model as trained).
    #[default]
    Given,
    /// All zeros: no motion anywhere.
    Zero,
    /// The clip's flow moved by half the frame in both directions (wrapping):
    /// real motion, in the wrong places.
    Shifted,
}

impl std::str::FromStr for FlowCondition {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "given" => Ok(FlowCondition::Given),
            "zero" => Ok(FlowCondition::Zero),
            "shifted" => Ok(FlowCondition::Shifted),
            _ => Err(format!(
                "unknown flow condition `{s}` (given, zero or shifted)"
            )),
        }
    }
}

impl FlowCondition {
    /// The flow tensor (B, 2t, H, W) the model sees under this condition.
    pub fn apply(self, flow: &Tensor) -> Result<Tensor> {
        match self {
            FlowCondition::Given => Ok(flow.clone()),
            FlowCondition::Zero => flow.zeros_like().map_err(Error::from),
            FlowCondition::Shifted => {
                let (_, _, h, w) = flow.dims4().map_err(Error::from)?;
                flow.roll((h / 2) as i32, 2)
                    .and_then(|f| f.roll((w / 2) as i32, 3))
                    .map_err(Error::from)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ablations_change_the_flow_as_named() {
        let dev = candle_core::Device::Cpu;
        let f = Tensor::arange(0f32, 16.0, &dev)
            .unwrap()
            .reshape((1, 1, 4, 4))
            .unwrap();
        let v = |t: Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(v(FlowCondition::Given.apply(&f).unwrap()), v(f.clone()));
        assert!(v(FlowCondition::Zero.apply(&f).unwrap())
            .iter()
            .all(|&x| x == 0.0));
        let s = v(FlowCondition::Shifted.apply(&f).unwrap());
        // Element (0, 0) comes from (2, 2): 2·4 + 2.
        assert_eq!(s[0], 10.0);
        let mut sorted = s.clone();
        sorted.sort_by(f32::total_cmp);
        assert_eq!(sorted, v(f), "the same values, moved");
        assert!("sideways".parse::<FlowCondition>().is_err());
    }
}

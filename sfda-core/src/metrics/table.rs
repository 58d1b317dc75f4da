//! Human-readable tables of [`SegMetrics`]; the header always names the
//! class set, so 13- and 16-class numbers cannot be confused.

use std::fmt;

use crate::metrics::scores::SegMetrics;

fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.2}", 100.0 * x))
        .unwrap_or_else(|| "—".into())
}

impl SegMetrics {
    /// One line: class set, mIoU (with the number of scored classes), PA, mPA.
    pub fn summary(&self) -> String {
        format!(
            "[{}] mIoU {:.2} over {} of {} classes | PA {:.2} | mPA {:.2}",
            self.class_set.name(),
            100.0 * self.miou,
            self.scored_classes(),
            self.classes.len(),
            100.0 * self.pixel_accuracy,
            100.0 * self.mean_accuracy
        )
    }

    /// The per-class table with a header naming the class set.
    pub fn table(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for SegMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Class set: {} — {} ({} classes)",
            self.class_set.name(),
            self.class_set.describe(),
            self.classes.len()
        )?;
        writeln!(
            f,
            "{:<14} {:>7} {:>7} {:>12} {:>12}",
            "class", "IoU %", "acc %", "GT px", "pred px"
        )?;
        for c in &self.classes {
            let flag = if c.iou.is_none() { "  (absent)" } else { "" };
            writeln!(
                f,
                "{:<14} {:>7} {:>7} {:>12} {:>12}{flag}",
                c.name,
                pct(c.iou),
                pct(c.accuracy),
                c.gt_pixels,
                c.pred_pixels
            )?;
        }
        writeln!(f, "{}", self.summary())?;
        if !self.absent.is_empty() {
            writeln!(
                f,
                "excluded (absent from prediction and ground truth): {}",
                self.absent.join(", ")
            )?;
        }
        if !self.unmapped_labels.is_empty() {
            writeln!(
                f,
                "label ids outside the dataset's id table, read as ignore: {} \
                 (--strict-labels makes them an error)",
                crate::data::ids::describe_unmapped(&self.unmapped_labels)
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::data::ClassSet;
    use crate::metrics::{ConfusionMatrix, SegMetrics};

    #[test]
    fn table_names_the_class_set_and_flags_absent_classes() {
        let mut cm = ConfusionMatrix::new(19);
        cm.accumulate(&[0, 13], &[0, 13]).unwrap();
        let t = SegMetrics::compute(&cm, ClassSet::Synthia13)
            .unwrap()
            .table();
        assert!(t.starts_with("Class set: synthia13"));
        assert!(t.contains("(absent)"));
        assert!(t.contains("mIoU 100.00 over 2 of 13 classes"));
    }
}

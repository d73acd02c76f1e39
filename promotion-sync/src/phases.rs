//! Where a pass spent its time, for the debug log: `registry=12ms read_repo=3ms …`.

use std::time::{Duration, Instant};

/// The phases of one pass, each with the time since the one before.
pub(crate) struct Phases {
    last: Instant,
    spent: Vec<(&'static str, Duration)>,
}

impl Phases {
    /// Phases counted from `started`.
    pub(crate) fn new(started: Instant) -> Self {
        Self {
            last: started,
            spent: Vec::new(),
        }
    }

    /// `phase` ends now.
    pub(crate) fn mark(&mut self, phase: &'static str) {
        let now = Instant::now();
        self.spent.push((phase, now - self.last));
        self.last = now;
    }
}

impl std::fmt::Display for Phases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (phase, spent)) in self.spent.iter().enumerate() {
            let gap = if i == 0 { "" } else { " " };
            write!(f, "{gap}{phase}={}ms", spent.as_millis())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_are_listed_in_order() {
        let mut phases = Phases::new(Instant::now());
        phases.mark("registry");
        phases.mark("commit");
        let text = phases.to_string();
        assert!(
            text.starts_with("registry=") && text.contains(" commit="),
            "{text}"
        );
        assert!(text.ends_with("ms"), "{text}");
    }
}

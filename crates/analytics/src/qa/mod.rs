//! The QA workflow core: scorecards, scoring, sampling, calibration, disputes and permissions.
//! Pure decisions on data handed in; it must never read a clock or draw randomness of its own.

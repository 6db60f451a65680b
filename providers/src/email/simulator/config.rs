//! Configuration of the e-mail simulator: the timing both simulators share
//! (`[email.simulator]`).

pub type SimulatorEmailConfig = crate::simulated::SimulatorConfig;
pub type ValidatedSimulatorEmailConfig = crate::simulated::ValidatedSimulatorConfig;

//! Configuration of the SMS simulator: the timing both simulators share
//! (`[sms.simulator]`).

pub type SimulatorSmsConfig = crate::simulated::SimulatorConfig;
pub type ValidatedSimulatorSmsConfig = crate::simulated::ValidatedSimulatorConfig;

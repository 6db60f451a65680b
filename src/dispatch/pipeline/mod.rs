//! The send path, in the order an alert takes it: intake writes the alert and its outbox row;
//! the relay publishes the outbox; fan-out plans ranges of subscribers and announces them;
//! senders create each range's delivery rows, then claim, send and settle each delivery; outcomes and receipts are written to the ledger;
//! calls are placed again until confirmed (recall). `worker` is the consumer loop they share.

pub mod fanout;
pub mod group_intake;
pub mod intake;
pub mod outcomes;
pub mod recall;
pub mod receipts;
pub mod relay;
pub mod sender;
pub(crate) mod settle;
pub(crate) mod worker;

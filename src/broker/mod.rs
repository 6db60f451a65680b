//! RabbitMQ: the topology Tocsin declares, the jobs it carries, a publisher with confirms and
//! consumers that acknowledge only once a job's effects are durable.

pub mod dead;
mod jobs;
pub mod publisher;
mod topology;

pub use jobs::Job;
pub use publisher::Publisher;
pub use topology::Topology;

use lapin::{
    Channel, Connection, ConnectionProperties, Consumer,
    options::{BasicConsumeOptions, BasicQosOptions},
    types::FieldTable,
};

pub use lapin::Error as BrokerError;
pub use lapin::message::Delivery;

/// Opens a connection named after this process, so operators recognise it in the management UI.
pub async fn connect(url: &str) -> Result<Connection, BrokerError> {
    let name = format!("tocsin {}", std::process::id());
    Connection::connect(
        url,
        ConnectionProperties::default().with_connection_name(name.into()),
    )
    .await
}

/// A consumer on its own channel, with at most `prefetch` unacknowledged messages in hand.
pub async fn consume(
    connection: &Connection,
    queue: &str,
    prefetch: u16,
) -> Result<(Channel, Consumer), BrokerError> {
    let channel = connection.create_channel().await?;
    channel
        .basic_qos(prefetch, BasicQosOptions::default())
        .await?;
    let consumer = channel
        .basic_consume(
            queue.into(),
            format!("tocsin-{}-{queue}", std::process::id()).into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    Ok((channel, consumer))
}

/// Deletes a prefix's queues and exchange, for demos, benchmarks and tests that used their own.
/// Best effort: a broker that cannot be reached keeps them.
pub async fn remove_topology(url: &str, topology: &Topology, keys: &[String]) {
    if let Ok(connection) = connect(url).await {
        if let Ok(channel) = connection.create_channel().await {
            let _ = topology.delete(&channel, keys).await;
            let _ = channel.close(200, "removed".into()).await;
        }
        let _ = connection.close(200, "removed".into()).await;
    }
}

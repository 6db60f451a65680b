//! The public form of the ids that count rows (subscribers, deliveries).
//!
//! Inside, a subscriber or a delivery is a sequence number, cheap to store and to join on; shown
//! as is, `sub_100033` would tell a commune how many subscribers the whole platform holds, and
//! `dlv_N` in an e-mail header would tell a citizen how many messages it sent. Outside, the
//! number is encrypted: one AES-128 block holding a kind byte, seven zero bytes and the number,
//! under the platform's own key (made by the migrations, kept in the database), shown as 32 hex
//! digits like the UUID ids. Decryption checks the kind and the zeros, so a made-up id, or a
//! subscriber's id given as a delivery's, is refused rather than decoded into someone else's row.
//!
//! A subscriber id is read in the opaque form only: the old decimal form (`sub_42`) let anyone
//! with a key count the platform's subscribers by probing `after=sub_N`. The old decimal form of
//! delivery references (`dlv_7`) is still read, for reports of messages sent before; it cannot
//! be mistaken for the new form, which is always 32 digits long and the old never more than 19,
//! and a report is authenticated by its callback token before any reference is read.

use aes::{
    Aes128,
    cipher::{BlockDecrypt, BlockEncrypt, KeyInit, generic_array::GenericArray},
};
use sha2::{Digest, Sha256};

use super::ids::{DeliveryId, IdParseError, SubscriberId};

const KIND_SUBSCRIBER: u8 = 1;
const KIND_DELIVERY: u8 = 2;
const BODY: &str = "32 hexadecimal digits";

/// Turns internal sequence numbers into opaque public ids and back.
#[derive(Clone)]
pub struct PublicIds {
    cipher: Aes128,
}

impl std::fmt::Debug for PublicIds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PublicIds(…)")
    }
}

impl PublicIds {
    /// Derives the cipher key from the platform's secret material (any length).
    pub fn new(secret: &[u8]) -> Self {
        let digest = Sha256::digest(secret);
        let key = GenericArray::from_slice(&digest[..16]);
        PublicIds {
            cipher: Aes128::new(key),
        }
    }

    pub fn subscriber(&self, id: SubscriberId) -> String {
        format!(
            "{}{}",
            SubscriberId::PREFIX,
            self.seal(KIND_SUBSCRIBER, id.0)
        )
    }

    pub fn delivery(&self, id: DeliveryId) -> String {
        format!("{}{}", DeliveryId::PREFIX, self.seal(KIND_DELIVERY, id.0))
    }

    /// Reads a subscriber id in its public form.
    pub fn parse_subscriber(&self, text: &str) -> Result<SubscriberId, IdParseError> {
        let error = IdParseError {
            prefix: SubscriberId::PREFIX,
            body: BODY,
        };
        match text.strip_prefix(SubscriberId::PREFIX) {
            Some(body) if body.len() == 32 => self
                .open(KIND_SUBSCRIBER, body)
                .map(SubscriberId)
                .ok_or(error),
            _ => Err(error),
        }
    }

    /// Reads a delivery reference in its public form, or in the old decimal form.
    pub fn parse_delivery(&self, text: &str) -> Result<DeliveryId, IdParseError> {
        let error = IdParseError {
            prefix: DeliveryId::PREFIX,
            body: BODY,
        };
        match text.strip_prefix(DeliveryId::PREFIX) {
            Some(body) if body.len() == 32 => {
                self.open(KIND_DELIVERY, body).map(DeliveryId).ok_or(error)
            }
            Some(_) => text.parse().map_err(|_| error),
            None => Err(error),
        }
    }

    fn seal(&self, kind: u8, number: i64) -> String {
        let mut block = [0u8; 16];
        block[0] = kind;
        block[8..].copy_from_slice(&number.to_be_bytes());
        let mut block = GenericArray::from(block);
        self.cipher.encrypt_block(&mut block);
        hex::encode(block)
    }

    fn open(&self, kind: u8, body: &str) -> Option<i64> {
        let bytes: [u8; 16] = hex::decode(body).ok()?.try_into().ok()?;
        let mut block = GenericArray::from(bytes);
        self.cipher.decrypt_block(&mut block);
        let (head, number) = block.split_at(8);
        if head[0] != kind || head[1..].iter().any(|&b| b != 0) {
            return None;
        }
        let number = i64::from_be_bytes(number.try_into().ok()?);
        (number >= 0).then_some(number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> PublicIds {
        PublicIds::new(b"a platform key")
    }

    #[test]
    fn public_ids_round_trip_and_hide_the_number() {
        let ids = ids();
        let one = ids.subscriber(SubscriberId(100_033));
        let next = ids.subscriber(SubscriberId(100_034));
        assert!(one.starts_with("sub_") && one.len() == 36, "{one}");
        assert!(!one.contains("100033"));
        // Neighbours share nothing visible.
        let common = one
            .bytes()
            .zip(next.bytes())
            .skip(4)
            .take_while(|(a, b)| a == b)
            .count();
        assert!(common < 8, "{one} {next}");
        assert_eq!(ids.parse_subscriber(&one), Ok(SubscriberId(100_033)));
        let dlv = ids.delivery(DeliveryId(7));
        assert_eq!(ids.parse_delivery(&dlv), Ok(DeliveryId(7)));
    }

    #[test]
    fn decimal_subscriber_ids_are_refused_and_old_delivery_references_read() {
        let ids = ids();
        for counted in ["sub_42", "sub_1", "sub_042"] {
            assert!(ids.parse_subscriber(counted).is_err(), "{counted}");
        }
        assert_eq!(ids.parse_delivery("dlv_7"), Ok(DeliveryId(7)));
    }

    #[test]
    fn made_up_or_crossed_ids_are_refused() {
        let ids = ids();
        let dlv = ids.delivery(DeliveryId(7));
        let as_subscriber = dlv.replacen("dlv_", "sub_", 1);
        assert!(ids.parse_subscriber(&as_subscriber).is_err());
        assert!(
            ids.parse_subscriber("sub_00000000000000000000000000000000")
                .is_err()
        );
        assert!(
            ids.parse_subscriber("sub_zz000000000000000000000000000000")
                .is_err()
        );
        // Another platform's ids mean nothing here.
        let other = PublicIds::new(b"another key").subscriber(SubscriberId(5));
        assert!(ids.parse_subscriber(&other).is_err());
        assert!(ids.parse_delivery("sub_1").is_err());
    }
}

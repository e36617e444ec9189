//! A cap on the connections of one peer (an IPv4 address, or an IPv6 /64 as
//! [`peer_block`](mcp_core::peer_block) groups them), so that one client cannot take every
//! connection slot of a server its clients reach directly.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

/// The open connections per peer; an entry lives while its peer has one.
#[derive(Debug)]
pub(crate) struct PeerSlots {
    max: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One open connection of a peer, counted until dropped.
#[derive(Debug)]
pub(crate) struct PeerSlot {
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
    peer: IpAddr,
}

impl PeerSlots {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            max,
            open: Arc::default(),
        }
    }

    /// A slot for one more connection of `ip`'s peer; `None` when it has `max` open.
    pub(crate) fn admit(&self, ip: IpAddr) -> Option<PeerSlot> {
        let peer = mcp_core::peer_block(ip);
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(peer).or_default();
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(PeerSlot {
            open: Arc::clone(&self.open),
            peer,
        })
    }
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.peer) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.peer);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_gets_its_share_and_its_slots_back() {
        let slots = PeerSlots::new(2);
        let one: IpAddr = "192.0.2.1".parse().unwrap();
        let (a, b) = (slots.admit(one).unwrap(), slots.admit(one).unwrap());
        assert!(slots.admit(one).is_none());
        // Another peer is not held back; addresses of one IPv6 /64 are one peer.
        assert!(slots.admit("192.0.2.2".parse().unwrap()).is_some());
        let _v6 = slots.admit("2001:db8::1".parse().unwrap()).unwrap();
        let _v6b = slots.admit("2001:db8::2".parse().unwrap()).unwrap();
        assert!(slots.admit("2001:db8::3".parse().unwrap()).is_none());
        drop(a);
        let _c = slots.admit(one).unwrap();
        drop((b, _c));
        assert!(
            !slots.open.lock().unwrap().contains_key(&one),
            "forgotten at zero"
        );
    }
}

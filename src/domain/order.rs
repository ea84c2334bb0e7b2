//! Orders, employees and packaging types as imported from the shop system.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::pin::PinHash;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub sku: String,
    pub qty: u32,
    /// A free gift: it must still be scanned.
    pub gift: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub order_no: String,
    pub waybill_no: String,
    pub carrier: String,
    pub recipient: String,
    pub country: String,
    pub address: String,
    pub buyer_note: String,
    pub lines: Vec<OrderLine>,
    /// Picker named by the shop system at import; a bench does not replace it.
    pub picker_id: Option<String>,
    pub cancelled: bool,
}

impl Order {
    /// Fingerprint of everything a packed parcel depends on. A bench that opened one version
    /// refuses to pack once the fingerprint changes (the slip it was picked from is stale).
    pub fn version(&self) -> String {
        let mut h = Sha256::new();
        for field in [
            &self.order_no,
            &self.waybill_no,
            &self.carrier,
            &self.recipient,
            &self.country,
            &self.address,
            &self.buyer_note,
        ] {
            h.update((field.len() as u64).to_be_bytes());
            h.update(field.as_bytes());
        }
        for l in &self.lines {
            h.update((l.sku.len() as u64).to_be_bytes());
            h.update(l.sku.as_bytes());
            h.update(l.qty.to_be_bytes());
            h.update([l.gift as u8]);
        }
        hex::encode(&h.finalize()[..8])
    }

    pub fn total_units(&self) -> u32 {
        self.lines.iter().map(|l| l.qty).sum()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Picker,
    Packer,
    Supervisor,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s.trim().to_ascii_lowercase().as_str() {
            "picker" => Some(Role::Picker),
            "packer" => Some(Role::Packer),
            "supervisor" => Some(Role::Supervisor),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Picker => "picker",
            Role::Packer => "packer",
            Role::Supervisor => "supervisor",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roles {
    pub picker: bool,
    pub packer: bool,
    pub supervisor: bool,
}

/// A roles field that does not read (an import's `roles` column).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RolesError {
    #[error("unknown role {0:?} (expected picker, packer or supervisor)")]
    Unknown(String),
    #[error("no role given")]
    NoRole,
}

impl Roles {
    pub fn has(&self, r: Role) -> bool {
        match r {
            Role::Picker => self.picker,
            Role::Packer => self.packer,
            Role::Supervisor => self.supervisor,
        }
    }

    /// Parses `picker|packer|supervisor`; an unknown role is an error naming it.
    pub fn parse(field: &str) -> Result<Roles, RolesError> {
        let mut roles = Roles::default();
        for part in field.split('|').map(str::trim).filter(|p| !p.is_empty()) {
            match Role::parse(part) {
                Some(Role::Picker) => roles.picker = true,
                Some(Role::Packer) => roles.packer = true,
                Some(Role::Supervisor) => roles.supervisor = true,
                None => return Err(RolesError::Unknown(part.to_string())),
            }
        }
        if !(roles.picker || roles.packer || roles.supervisor) {
            return Err(RolesError::NoRole);
        }
        Ok(roles)
    }

    /// The roles in words, as a badge and the screens name them ("Picker, Packer" /
    /// 「拣货员、打包员」).
    pub fn words(self) -> crate::text::Words {
        let names: Vec<crate::text::Words> = [
            (Role::Picker, crate::text!("badge.role_picker")),
            (Role::Packer, crate::text!("badge.role_packer")),
            (Role::Supervisor, crate::text!("badge.role_supervisor")),
        ]
        .into_iter()
        .filter(|(r, _)| self.has(*r))
        .map(|(_, name)| name.words())
        .collect();
        crate::text::Words::join(&names, ", ", "、")
    }

    pub fn to_field(self) -> String {
        [Role::Picker, Role::Packer, Role::Supervisor]
            .into_iter()
            .filter(|r| self.has(*r))
            .map(Role::as_str)
            .collect::<Vec<_>>()
            .join("|")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Employee {
    pub id: String,
    pub name: String,
    pub roles: Roles,
    pub badge: String,
    /// The Argon2id hash of the employee's PIN; never serialised, never shown.
    #[serde(skip)]
    pub pin_hash: Option<PinHash>,
    /// An inactive badge is refused (`badge_inactive`); the person's past work stays.
    #[serde(default = "active_default")]
    pub active: bool,
}

fn active_default() -> bool {
    true
}

impl Employee {
    /// An active employee without a PIN.
    pub fn new(id: &str, name: &str, roles: Roles, badge: &str) -> Employee {
        Employee {
            id: id.into(),
            name: name.into(),
            roles,
            badge: badge.into(),
            pin_hash: None,
            active: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Packaging {
    pub code: String,
    pub name: String,
    pub tare_g: f64,
}

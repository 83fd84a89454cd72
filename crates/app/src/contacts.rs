//! Customers: reading, editing and merging the same person's records.

use hark_domain::*;
use hark_store::{Page, Write};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::change::Change;
use crate::{Actor, App, AppError, AppResult, now};

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactUpdate {
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "crate::serde_util::explicit_null")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::serde_util::explicit_null")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    pub notes: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub custom_attributes: Option<CustomAttributes>,
}

impl App {
    pub async fn contacts(&self, actor: &Actor, query: Option<&str>, page: &Page) -> AppResult<Vec<Contact>> {
        actor.require(Action::ReadInbox)?;
        Ok(self.store.contacts(actor.workspace_id(), query, page).await?)
    }

    pub async fn contact(&self, actor: &Actor, id: &str) -> AppResult<Contact> {
        actor.require(Action::ReadInbox)?;
        self.store
            .contact(id)
            .await?
            .filter(|c| c.workspace_id == actor.workspace_id())
            .ok_or(AppError::NotFound("contact"))
    }

    pub async fn update_contact(&self, actor: &Actor, id: &str, input: ContactUpdate) -> AppResult<Contact> {
        actor.require(Action::EditContact)?;
        let before = self.contact(actor, id).await?;
        if before.merged_into_id.is_some() {
            return Err(AppError::Conflict("this contact was merged into another; edit that one".into()));
        }
        let mut after = before.clone();
        if let Some(name) = &input.display_name {
            let name = name.trim();
            if name.is_empty() || name.chars().count() > 200 {
                return Err(AppError::invalid("display_name", "must have 1 to 200 characters"));
            }
            after.display_name = name.to_owned();
        }
        if let Some(email) = &input.email {
            after.email = email.as_ref().map(|e| e.trim().to_owned()).filter(|e| !e.is_empty());
        }
        if let Some(phone) = &input.phone {
            after.phone = phone.as_ref().map(|p| p.trim().to_owned()).filter(|p| !p.is_empty());
        }
        if let Some(notes) = &input.notes {
            if notes.chars().count() > 20_000 {
                return Err(AppError::invalid("notes", "must be at most 20000 characters"));
            }
            after.notes = notes.clone();
        }
        if let Some(attrs) = &input.custom_attributes {
            self.check_attributes(actor, AttributeScope::Contact, attrs).await?;
            after.custom_attributes = attrs.clone();
        }
        if after == before {
            return Ok(before);
        }
        let at = now();
        after.updated_at = at;
        Change::new(actor, at)
            .write(Write::UpdateContact(after.clone()))
            .audit("contact.update", "contact", id, json!({ "before": profile(&before), "after": profile(&after) }))
            .event("contact.updated", id, &after)
            .commit(self)
            .await?;
        Ok(after)
    }

    /// Merges `from_id` into `into_id`: identities and conversations move, empty
    /// profile fields are filled from the merged contact, which is kept (marked
    /// merged) so links to it still resolve.
    pub async fn merge_contacts(&self, actor: &Actor, into_id: &str, from_id: &str) -> AppResult<Contact> {
        actor.require(Action::MergeContacts)?;
        if into_id == from_id {
            return Err(AppError::invalid("from_contact_id", "cannot merge a contact into itself"));
        }
        let into = self.contact(actor, into_id).await?;
        let from = self.contact(actor, from_id).await?;
        if into.merged_into_id.is_some() || from.merged_into_id.is_some() {
            return Err(AppError::Conflict("one of these contacts was already merged".into()));
        }
        let at = now();
        let mut merged = into.clone();
        merged.email = merged.email.or(from.email.clone());
        merged.phone = merged.phone.or(from.phone.clone());
        if merged.notes.is_empty() {
            merged.notes = from.notes.clone();
        }
        for (k, v) in &from.custom_attributes {
            merged.custom_attributes.entry(k.clone()).or_insert_with(|| v.clone());
        }
        merged.updated_at = at;
        Change::new(actor, at)
            .write(Write::UpdateContact(merged))
            .write(Write::MergeContacts { into_id: into_id.to_owned(), from_id: from_id.to_owned(), at })
            .audit("contact.merge", "contact", into_id, json!({ "merged": from_id, "merged_name": from.display_name }))
            .event("contact.merged", into_id, &json!({ "into_id": into_id, "from_id": from_id }))
            .commit(self)
            .await?;
        self.contact(actor, into_id).await
    }
}

fn profile(c: &Contact) -> serde_json::Value {
    json!({
        "display_name": c.display_name, "email": c.email, "phone": c.phone,
        "notes_changed": false, "custom_attributes": c.custom_attributes,
    })
}

//! Files agents attach to replies. They are kept in the database, so any
//! node can serve them, and served at an address with an unguessable token
//! (the networks fetch them from there: WhatsApp, Telegram and Meta take
//! files by address). Only a few safe types are accepted, checked against
//! the bytes themselves, so an upload can never be served as a web page.

use hark_domain::Action;
use hark_store::{UploadRecord, Write};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::change::Change;
use crate::{Actor, App, AppError, AppResult, new_id, now};

/// The largest file accepted.
pub const MAX_UPLOAD_BYTES: usize = 10 * 1024 * 1024;

/// An uploaded file, as the API describes it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UploadView {
    pub id: String,
    pub name: String,
    pub content_type: String,
    pub size: usize,
    /// Where the file is served, relative to Hark's public address.
    pub path: String,
    pub image: bool,
}

/// The types accepted, each with how to recognise it from its first bytes.
fn recognised(content_type: &str, bytes: &[u8]) -> Option<&'static str> {
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    let kind = match content_type {
        "image/jpeg" if starts(&[0xFF, 0xD8, 0xFF]) => "image/jpeg",
        "image/png" if starts(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) => "image/png",
        "image/gif" if starts(b"GIF87a") || starts(b"GIF89a") => "image/gif",
        "image/webp" if starts(b"RIFF") && bytes.get(8..12) == Some(b"WEBP".as_slice()) => "image/webp",
        "application/pdf" if starts(b"%PDF-") => "application/pdf",
        "text/plain" | "text/csv" if std::str::from_utf8(bytes).is_ok() => {
            if content_type == "text/csv" {
                "text/csv"
            } else {
                "text/plain"
            }
        }
        _ => return None,
    };
    Some(kind)
}

fn clean_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base.chars().filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>')).take(120).collect();
    let cleaned = cleaned.trim().to_owned();
    if cleaned.is_empty() { "file".into() } else { cleaned }
}

impl App {
    /// Stores a file to attach to a reply or note.
    pub async fn upload(&self, actor: &Actor, name: &str, content_type: &str, bytes: Vec<u8>) -> AppResult<UploadView> {
        if actor.require(Action::Reply).is_err() {
            actor.require(Action::WriteNote)?;
        }
        if bytes.is_empty() {
            return Err(AppError::invalid("file", "the file is empty"));
        }
        if bytes.len() > MAX_UPLOAD_BYTES {
            return Err(AppError::invalid(
                "file",
                format!("files are limited to {} MB", MAX_UPLOAD_BYTES / 1024 / 1024),
            ));
        }
        let content_type = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        let Some(content_type) = recognised(&content_type, &bytes) else {
            return Err(AppError::invalid(
                "file",
                "send a JPEG, PNG, GIF or WebP picture, a PDF, or a plain-text or CSV file (its content must match its type)",
            ));
        };
        let at = now();
        let record = UploadRecord {
            id: new_id("upl"),
            workspace_id: actor.workspace_id().to_owned(),
            token: crate::auth::random_token()?,
            name: clean_file_name(name),
            content_type: content_type.to_owned(),
            bytes,
            created_by: Some(actor.user.id.clone()),
            created_at: at,
        };
        let view = view(&record);
        Change::new(actor, at)
            .write(Write::InsertUpload(record))
            .audit("upload.create", "upload", &view.id, json!({ "name": view.name, "size": view.size }))
            .commit(self)
            .await?;
        Ok(view)
    }

    /// A file by its address: served to whoever has the token (the networks).
    pub async fn download(&self, id: &str, token: &str) -> AppResult<UploadRecord> {
        let record = self.store.upload(id).await?.ok_or(AppError::NotFound("file"))?;
        let matches = record.token.len() == token.len()
            && record.token.bytes().zip(token.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
        if !matches {
            return Err(AppError::NotFound("file"));
        }
        Ok(record)
    }

    /// The attachment entries of a message for uploads of the actor's workspace.
    pub async fn attachments_of(&self, actor: &Actor, upload_ids: &[String]) -> AppResult<Vec<Value>> {
        let mut files = vec![];
        for id in upload_ids {
            let record = self
                .store
                .upload(id)
                .await?
                .filter(|u| u.workspace_id == actor.workspace_id())
                .ok_or_else(|| AppError::invalid("attachments", format!("no uploaded file {id}")))?;
            let v = view(&record);
            files.push(json!({
                "type": if v.image { "image" } else { "file" },
                "name": v.name, "size": v.size, "content_type": v.content_type, "upload_id": v.id, "url": v.path,
            }));
        }
        Ok(files)
    }
}

fn view(record: &UploadRecord) -> UploadView {
    UploadView {
        id: record.id.clone(),
        name: record.name.clone(),
        content_type: record.content_type.clone(),
        size: record.bytes.len(),
        path: format!("/files/{}/{}", record.id, record.token),
        image: record.content_type.starts_with("image/"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_files_whose_bytes_match_their_type_are_accepted() {
        assert_eq!(recognised("image/png", &[0x89, b'P', b'N', b'G', 13, 10, 26, 10]), Some("image/png"));
        assert_eq!(recognised("image/png", b"<html><script>alert(1)</script>"), None);
        assert_eq!(recognised("text/html", b"<html>"), None);
        assert_eq!(recognised("application/pdf", b"%PDF-1.7 ..."), Some("application/pdf"));
        assert_eq!(recognised("text/plain", &[0xFF, 0xFE, 0x00]), None);
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("C:\\x\\<b>in\"voice.pdf"), "binvoice.pdf");
        assert_eq!(clean_file_name("\n"), "file");
    }
}

//! `document_create`, written by hand: its body is `multipart/form-data`, which progenitor
//! cannot generate. It follows the generated methods' conventions (the `api-version` header,
//! typed success and error bodies).

use crate::{Client, ClientInfo, Error, ResponseValue, types};

/// What to upload: the file, optional metadata for the `metadata` part, and any other parts
/// (name and content, sent before the file, as a browser's form fields; the server ignores
/// them).
#[derive(Debug, Clone)]
pub struct Upload {
    pub file_name: String,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
    pub title: Option<String>,
    pub category: Option<String>,
    pub other_parts: Vec<(String, Vec<u8>)>,
}

impl Client {
    /// Uploads a document to a bot's knowledge base (`POST /v1/bots/{bot_id}/documents`).
    pub async fn document_create(
        &self,
        bot_id: &uuid::Uuid,
        upload: Upload,
    ) -> Result<ResponseValue<types::Document>, Error<types::Error>> {
        let Upload {
            file_name,
            content_type,
            bytes,
            title,
            category,
            other_parts,
        } = upload;
        let mut file = reqwest::multipart::Part::bytes(bytes).file_name(file_name);
        if let Some(content_type) = content_type {
            file = file
                .mime_str(&content_type)
                .map_err(|e| Error::InvalidRequest(e.to_string()))?;
        }
        let mut form = reqwest::multipart::Form::new();
        for (name, content) in other_parts {
            form = form.part(name, reqwest::multipart::Part::bytes(content));
        }
        form = form.part("file", file);
        if title.is_some() || category.is_some() {
            let metadata = serde_json::json!({ "title": title, "category": category });
            let part = reqwest::multipart::Part::text(metadata.to_string())
                .mime_str("application/json")
                .map_err(|e| Error::InvalidRequest(e.to_string()))?;
            form = form.part("metadata", part);
        }
        let url = format!("{}/v1/bots/{}/documents", self.baseurl(), bot_id);
        let response = self
            .client()
            .post(url)
            .header("api-version", <Client as ClientInfo<()>>::api_version())
            .multipart(form)
            .send()
            .await
            .map_err(Error::CommunicationError)?;
        match response.status().as_u16() {
            201 => ResponseValue::from_response(response).await,
            400..=599 => Err(Error::ErrorResponse(
                ResponseValue::from_response(response).await?,
            )),
            _ => Err(Error::UnexpectedResponse(response)),
        }
    }
}

//! The typed client: one method per endpoint over async `reqwest`, the envelope unwrapped,
//! failures kept apart as API errors (with status, code and logid) or transport errors (naming
//! the URL that could not be reached). Answers that ask to retry later (4008/4009) are retried a
//! few times, unless the client is made with [`Client::without_retries`].

use std::fmt;
use std::time::Duration;

use reqwest::{Method, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::limits::MAX_PAGE_SIZE;
use crate::{
    codes, Comparison, Created, Diarization, Enrolled, Envelope, Feature, Group, GroupFields, Identification, Me, Page,
    Sample, Verification,
};

/// How often a request answered 4008/4009 (rate-limited/overloaded) is retried by default.
const RETRIES: u32 = 3;

#[derive(Debug)]
pub enum Error {
    /// The server answered with a non-zero `code`.
    Api { status: u16, code: i64, msg: String, logid: String },
    /// The server could not be reached, or answered with something that is not the API's envelope.
    Transport(String),
    /// A local problem (e.g. a file that cannot be read).
    Local(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Api { code, msg, logid, .. } => write!(f, "error {code}: {msg} (logid {logid})"),
            Error::Transport(text) | Error::Local(text) => write!(f, "error: {text}"),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// An audio upload: the file's bytes and name, and the raw-PCM parameters if given.
pub struct Audio {
    pub bytes: Vec<u8>,
    pub file_name: String,
    pub sample_rate: Option<u32>,
    pub channel: Option<u16>,
}

impl Audio {
    pub fn read(path: &std::path::Path, sample_rate: Option<u32>, channel: Option<u16>) -> Result<Audio> {
        let bytes =
            std::fs::read(path).map_err(|err| Error::Local(format!("cannot read {}: {err}", path.display())))?;
        let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "audio".into());
        Ok(Audio { bytes, file_name, sample_rate, channel })
    }
}

/// Text fields of a multipart request besides the file.
type Fields = [(&'static str, String)];

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base_url: String,
    token: String,
    retries: u32,
}

impl Client {
    pub fn new(base_url: &str, token: &str) -> Result<Client> {
        let base_url = base_url.trim_end_matches('/').to_owned();
        if base_url.starts_with("https://") {
            return Err(Error::Local(format!(
                "{base_url}: this build of voxprint speaks plain HTTP only; use an http:// URL"
            )));
        }
        if !base_url.starts_with("http://") {
            return Err(Error::Local(format!("{base_url}: the server URL must start with http://")));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("voxprint-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| Error::Local(format!("HTTP client: {err}")))?;
        Ok(Client { http, base_url, token: token.to_owned(), retries: RETRIES })
    }

    /// The same client, answering 4008/4009 at once instead of retrying (for tests of overload).
    pub fn without_retries(mut self) -> Client {
        self.retries = 0;
        self
    }

    // Endpoints 1-4: groups.

    pub async fn create_group(&self, name: &str, desc: Option<&str>) -> Result<Created> {
        let body = GroupFields { name: Some(name.to_owned()), desc: desc.map(str::to_owned) };
        let data = self.call(|| self.request(Method::POST, "/v1/audio/voiceprint_groups").json(&body)).await?;
        decode(data)
    }

    /// Every group matching the filters, iterating all pages.
    pub async fn list_groups(&self, name: Option<&str>, user_id: Option<&str>, page_size: i64) -> Result<Vec<Group>> {
        let mut filters = Vec::new();
        if let Some(name) = name {
            filters.push(("name", name.to_owned()));
        }
        if let Some(user_id) = user_id {
            filters.push(("user_id", user_id.to_owned()));
        }
        self.all_pages("/v1/audio/voiceprint_groups", &filters, page_size).await
    }

    pub async fn update_group(&self, id: &str, name: Option<&str>, desc: Option<&str>) -> Result<()> {
        let body = GroupFields { name: name.map(str::to_owned), desc: desc.map(str::to_owned) };
        let path = format!("/v1/audio/voiceprint_groups/{}", segment(id));
        self.call(|| self.request(Method::PUT, &path).json(&body)).await.map(drop)
    }

    pub async fn delete_group(&self, id: &str) -> Result<()> {
        let path = format!("/v1/audio/voiceprint_groups/{}", segment(id));
        self.call(|| self.request(Method::DELETE, &path)).await.map(drop)
    }

    /// Who the token belongs to (Coze's `GET /v1/users/me`).
    pub async fn me(&self) -> Result<Me> {
        decode(self.call(|| self.request(Method::GET, "/v1/users/me")).await?)
    }

    // Endpoints 5-8: voiceprints.

    pub async fn create_feature(&self, group: &str, name: &str, desc: Option<&str>, audio: &Audio) -> Result<Enrolled> {
        let mut fields = vec![("name", name.to_owned())];
        if let Some(desc) = desc {
            fields.push(("desc", desc.to_owned()));
        }
        let path = format!("/v1/audio/voiceprint_groups/{}/features", segment(group));
        let data = self.call(|| self.request(Method::POST, &path).multipart(form(Some(audio), &fields))).await?;
        decode(data)
    }

    pub async fn update_feature(
        &self,
        group: &str,
        feature: &str,
        name: Option<&str>,
        desc: Option<&str>,
        audio: Option<&Audio>,
    ) -> Result<()> {
        let mut fields = Vec::new();
        if let Some(name) = name {
            fields.push(("name", name.to_owned()));
        }
        if let Some(desc) = desc {
            fields.push(("desc", desc.to_owned()));
        }
        let path = format!("/v1/audio/voiceprint_groups/{}/features/{}", segment(group), segment(feature));
        self.call(|| self.request(Method::PUT, &path).multipart(form(audio, &fields))).await.map(drop)
    }

    pub async fn list_features(&self, group: &str) -> Result<Vec<Feature>> {
        let path = format!("/v1/audio/voiceprint_groups/{}/features", segment(group));
        self.all_pages(&path, &[], MAX_PAGE_SIZE).await
    }

    pub async fn delete_feature(&self, group: &str, feature: &str) -> Result<()> {
        let path = format!("/v1/audio/voiceprint_groups/{}/features/{}", segment(group), segment(feature));
        self.call(|| self.request(Method::DELETE, &path)).await.map(drop)
    }

    // Endpoint 9.

    pub async fn identify(&self, group: &str, audio: &Audio, top_k: Option<u32>) -> Result<Identification> {
        let mut fields = Vec::new();
        if let Some(top_k) = top_k {
            fields.push(("top_k", top_k.to_string()));
        }
        let path = format!("/v1/audio/voiceprint_groups/{}/speaker_identify", segment(group));
        let data = self.call(|| self.request(Method::POST, &path).multipart(form(Some(audio), &fields))).await?;
        decode(data)
    }

    // Voxprint's extensions.

    /// Is the recording the voiceprint's speaker?
    pub async fn verify(&self, group: &str, feature: &str, audio: &Audio) -> Result<Verification> {
        let path = format!("/v1/audio/voiceprint_groups/{}/features/{}/verify", segment(group), segment(feature));
        decode(self.call(|| self.request(Method::POST, &path).multipart(form(Some(audio), &[]))).await?)
    }

    /// Are the two recordings the same speaker? Nothing is stored.
    pub async fn compare(&self, audio: &Audio, audio2: &Audio) -> Result<Comparison> {
        let build = || {
            let mut form = form(Some(audio), &[]);
            form = form.part(
                "file2",
                reqwest::multipart::Part::bytes(audio2.bytes.clone()).file_name(audio2.file_name.clone()),
            );
            if let Some(rate) = audio2.sample_rate {
                form = form.text("sample_rate2", rate.to_string());
            }
            if let Some(channel) = audio2.channel {
                form = form.text("channel2", channel.to_string());
            }
            self.request(Method::POST, "/v1/audio/voiceprints/compare").multipart(form)
        };
        decode(self.call(build).await?)
    }

    /// Who spoke when in a recording, naming the group's voiceprints; `max_speakers` caps the
    /// number of speakers found.
    pub async fn diarize(&self, group: &str, audio: &Audio, max_speakers: Option<u32>) -> Result<Diarization> {
        let path = format!("/v1/audio/voiceprint_groups/{}/speaker_diarize", segment(group));
        let fields: Vec<(&str, String)> = max_speakers.map(|m| ("max_speakers", m.to_string())).into_iter().collect();
        decode(self.call(|| self.request(Method::POST, &path).multipart(form(Some(audio), &fields))).await?)
    }

    /// Adds a recording to a voiceprint: the sample's ID and the recording's quality.
    pub async fn add_sample(&self, group: &str, feature: &str, audio: &Audio) -> Result<Enrolled> {
        let path = samples_path(group, feature);
        decode(self.call(|| self.request(Method::POST, &path).multipart(form(Some(audio), &[]))).await?)
    }

    /// The recordings a voiceprint is made from, oldest first.
    pub async fn list_samples(&self, group: &str, feature: &str) -> Result<Vec<Sample>> {
        let path = samples_path(group, feature);
        let page: Page<Sample> = decode(self.call(|| self.request(Method::GET, &path)).await?)?;
        Ok(page.items)
    }

    pub async fn delete_sample(&self, group: &str, feature: &str, sample: &str) -> Result<()> {
        let path = format!("{}/{}", samples_path(group, feature), segment(sample));
        self.call(|| self.request(Method::DELETE, &path)).await.map(drop)
    }

    // Plumbing.

    /// A request to `path` with the token, for calls the typed methods do not cover.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base_url)).bearer_auth(&self.token)
    }

    async fn all_pages<T: DeserializeOwned>(
        &self,
        path: &str,
        filters: &[(&str, String)],
        page_size: i64,
    ) -> Result<Vec<T>> {
        let mut items = Vec::new();
        for page_num in 1.. {
            let mut query = form_urlencoded::Serializer::new(String::new());
            query.append_pair("page_num", &page_num.to_string()).append_pair("page_size", &page_size.to_string());
            for (key, value) in filters {
                query.append_pair(key, value);
            }
            let url = format!("{path}?{}", query.finish());
            let page: Page<T> = decode(self.call(|| self.request(Method::GET, &url)).await?)?;
            let got = page.items.len();
            items.extend(page.items);
            if got == 0 || items.len() as i64 >= page.total {
                break;
            }
        }
        Ok(items)
    }

    /// Sends the request built by `build` (again if the server asks to retry later) and returns
    /// the envelope's `data` (`null` when absent).
    async fn call(&self, build: impl Fn() -> RequestBuilder) -> Result<Value> {
        let mut attempt = 0;
        loop {
            let response = build().send().await.map_err(|err| self.transport(&err))?;
            let status = response.status();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            let header_logid =
                response.headers().get("x-tt-logid").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            let bytes = response.bytes().await.map_err(|err| self.transport(&err))?;
            let envelope: Envelope<Value> = serde_json::from_slice(&bytes).map_err(|_| {
                let text = String::from_utf8_lossy(&bytes);
                let snippet: String = text.chars().take(200).collect();
                Error::Transport(format!(
                    "{} answered HTTP {status} with something that is not the voiceprint API's JSON: {snippet}",
                    self.base_url
                ))
            })?;
            if envelope.code == codes::OK {
                return Ok(envelope.data.unwrap_or(Value::Null));
            }
            let retryable = matches!(status, StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE)
                && codes::retry_later(envelope.code);
            if retryable && attempt < self.retries {
                attempt += 1;
                tokio::time::sleep(Duration::from_secs(retry_after.unwrap_or(1).clamp(1, 30))).await;
                continue;
            }
            let logid = Some(envelope.detail.logid).filter(|l| !l.is_empty()).unwrap_or(header_logid);
            return Err(Error::Api { status: status.as_u16(), code: envelope.code, msg: envelope.msg, logid });
        }
    }

    fn transport(&self, err: &reqwest::Error) -> Error {
        let mut cause: &dyn std::error::Error = err;
        while let Some(source) = cause.source() {
            cause = source;
        }
        if err.is_connect() || err.is_timeout() {
            Error::Transport(format!("could not reach {}: {cause}", self.base_url))
        } else {
            Error::Transport(format!("request to {} failed: {cause}", self.base_url))
        }
    }
}

fn decode<T: DeserializeOwned>(data: Value) -> Result<T> {
    serde_json::from_value(data).map_err(|err| Error::Transport(format!("unexpected response data: {err}")))
}

fn form(audio: Option<&Audio>, fields: &Fields) -> reqwest::multipart::Form {
    let mut form = reqwest::multipart::Form::new();
    if let Some(audio) = audio {
        let part = reqwest::multipart::Part::bytes(audio.bytes.clone()).file_name(audio.file_name.clone());
        form = form.part("file", part);
        if let Some(rate) = audio.sample_rate {
            form = form.text("sample_rate", rate.to_string());
        }
        if let Some(channel) = audio.channel {
            form = form.text("channel", channel.to_string());
        }
    }
    for (name, value) in fields {
        form = form.text(*name, value.clone());
    }
    form
}

fn samples_path(group: &str, feature: &str) -> String {
    format!("/v1/audio/voiceprint_groups/{}/features/{}/samples", segment(group), segment(feature))
}

/// An ID as a path segment: IDs are digit strings, anything else is percent-encoded so it
/// reaches the server (which answers 4000/4200) instead of changing the path.
fn segment(id: &str) -> String {
    form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>().replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(segment("123"), "123");
        assert_eq!(segment("../x y"), "..%2Fx%20y");
    }
}

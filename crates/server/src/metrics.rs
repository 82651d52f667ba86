//! Prometheus metrics, served at `/metrics`: HTTP traffic by route and code with latency
//! histograms, open and closed connections, and the speaker work (enrollments, identifications, embedding time, audio
//! seconds, embedding-cache hits and misses).

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    pub open_connections: IntGauge,
    pub closed_connections: IntCounterVec,
    pub enrollments: IntCounter,
    /// Audited requests whose entry could not be appended to the audit trail.
    pub audit_failures: IntCounter,
    pub identifications: IntCounter,
    pub verifications: IntCounter,
    pub comparisons: IntCounter,
    pub diarizations: IntCounter,
    pub diarization_seconds: Histogram,
    pub streams: IntCounter,
    pub streams_open: IntGauge,
    pub stream_updates: IntCounter,
    pub embedding_seconds: Histogram,
    pub audio_seconds: prometheus::Counter,
    pub cache_hits: IntCounter,
    pub cache_misses: IntCounter,
    pub cache_bytes: IntGauge,
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new_custom(Some("voxprint".into()), None).expect("valid registry prefix");
        let http_requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by route (the path pattern, or `unmatched`), method, and code: the HTTP status \
                 (the Coze code is in the body only)",
            ),
            &["route", "method", "code"],
        )
        .expect("valid metric");
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by route (the path pattern, or `unmatched`) and method",
            )
            .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
            &["route", "method"],
        )
        .expect("valid metric");
        let open_connections =
            IntGauge::new("http_open_connections", "client connections open now").expect("valid metric");
        let closed_connections = IntCounterVec::new(
            Opts::new(
                "http_connections_closed_total",
                "connections closed by the server: idle_timeout, header_timeout, evicted (to make room), shutdown",
            ),
            &["reason"],
        )
        .expect("valid metric");
        let enrollments = IntCounter::new("enrollments_total", "voiceprints enrolled, re-recorded or given a sample")
            .expect("valid metric");
        let audit_failures = IntCounter::new(
            "audit_failures_total",
            "audited requests whose entry could not be appended to the audit trail (see the log)",
        )
        .expect("valid metric");
        let identifications =
            IntCounter::new("identifications_total", "speaker identifications answered").expect("valid metric");
        let verifications =
            IntCounter::new("verifications_total", "voiceprint verifications answered").expect("valid metric");
        let comparisons =
            IntCounter::new("comparisons_total", "comparisons of two recordings answered").expect("valid metric");
        let diarizations =
            IntCounter::new("diarizations_total", "recordings diarized (speaker_diarize)").expect("valid metric");
        let diarization_seconds = Histogram::with_opts(
            HistogramOpts::new("diarization_seconds", "time to diarize one recording, waiting included")
                .buckets(vec![0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 60.0, 120.0]),
        )
        .expect("valid metric");
        let streams = IntCounter::new("streams_total", "live streams (speaker_stream) opened").expect("valid metric");
        let streams_open = IntGauge::new("streams_open", "live streams open now").expect("valid metric");
        let stream_updates =
            IntCounter::new("stream_updates_total", "speaker events of live streams").expect("valid metric");
        let embedding_seconds = Histogram::with_opts(
            HistogramOpts::new("embedding_seconds", "time to decode, preprocess and embed one recording")
                .buckets(vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]),
        )
        .expect("valid metric");
        let audio_seconds = prometheus::Counter::new("audio_seconds_total", "seconds of uploaded audio embedded")
            .expect("valid metric");
        let cache_hits =
            IntCounter::new("embedding_cache_hits_total", "identifications served from a cached group matrix")
                .expect("valid metric");
        let cache_misses =
            IntCounter::new("embedding_cache_misses_total", "group matrices (re)loaded from the database")
                .expect("valid metric");
        let cache_bytes =
            IntGauge::new("embedding_cache_bytes", "memory held by the cached group matrices (--embedding-cache-mb)")
                .expect("valid metric");
        let metrics = Metrics {
            registry,
            http_requests,
            http_duration,
            open_connections,
            closed_connections,
            enrollments,
            audit_failures,
            identifications,
            verifications,
            comparisons,
            diarizations,
            diarization_seconds,
            streams,
            streams_open,
            stream_updates,
            embedding_seconds,
            audio_seconds,
            cache_hits,
            cache_misses,
            cache_bytes,
        };
        for collector in metrics.collectors() {
            metrics.registry.register(collector).expect("metric registered once");
        }
        metrics
    }

    fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        vec![
            Box::new(self.http_requests.clone()),
            Box::new(self.http_duration.clone()),
            Box::new(self.open_connections.clone()),
            Box::new(self.closed_connections.clone()),
            Box::new(self.enrollments.clone()),
            Box::new(self.audit_failures.clone()),
            Box::new(self.identifications.clone()),
            Box::new(self.verifications.clone()),
            Box::new(self.comparisons.clone()),
            Box::new(self.diarizations.clone()),
            Box::new(self.diarization_seconds.clone()),
            Box::new(self.streams.clone()),
            Box::new(self.streams_open.clone()),
            Box::new(self.stream_updates.clone()),
            Box::new(self.embedding_seconds.clone()),
            Box::new(self.audio_seconds.clone()),
            Box::new(self.cache_hits.clone()),
            Box::new(self.cache_misses.clone()),
            Box::new(self.cache_bytes.clone()),
        ]
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        if let Err(err) = TextEncoder::new().encode(&self.registry.gather(), &mut buffer) {
            tracing::error!(%err, "could not encode metrics");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}

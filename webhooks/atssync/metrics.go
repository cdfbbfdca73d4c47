package atssync

import "github.com/prometheus/client_golang/prometheus"

// Metrics of the sync, all labelled by vendor.
var (
	passes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "goodwill_sync_passes_total",
		Help: "Sync passes finished, by vendor and outcome (ok, failed).",
	}, []string{"vendor", "outcome"})
	pages = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "goodwill_sync_pages_total",
		Help: "Pages read and written by the sync, by vendor and resource.",
	}, []string{"vendor", "resource"})
	requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "goodwill_sync_requests_total",
		Help: "Requests to ATS APIs, by vendor and HTTP status (or error, timeout, refused).",
	}, []string{"vendor", "status"})
	rateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "goodwill_sync_rate_limited_total",
		Help: "429 answers from ATS APIs, by vendor.",
	}, []string{"vendor"})
	passSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "goodwill_sync_pass_seconds",
		Help:    "Duration of sync passes, by vendor.",
		Buckets: prometheus.ExponentialBuckets(0.1, 2, 14),
	}, []string{"vendor"})
	recoveredEvents = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "goodwill_sync_events_recovered_total",
		Help: "Events the sync stored that no webhook had delivered, by vendor.",
	}, []string{"vendor"})
	cursorLag = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "goodwill_sync_cursor_lag_seconds",
		Help: "How far behind now a vendor's time cursor is, by vendor and resource, after its last page.",
	}, []string{"vendor", "resource"})
)

// Collectors returns the package's Prometheus collectors, for registration.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{passes, pages, requests, rateLimited, passSeconds, recoveredEvents, cursorLag,
		backfillsFinished, backfillPages}
}

func countRequest(vendor, status string) { requests.WithLabelValues(vendor, status).Inc() }
func countRateLimited(vendor string)     { rateLimited.WithLabelValues(vendor).Inc() }

// Metrics of the first-connect backfills (backfill.go).
var (
	backfillsFinished = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "goodwill_sync_backfills_total",
		Help: "Backfills that ended by themselves, by vendor and outcome (ok, failed).",
	}, []string{"vendor", "outcome"})
	backfillPages = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "goodwill_sync_backfill_pages_total",
		Help: "Pages read and written by backfills, by vendor and resource.",
	}, []string{"vendor", "resource"})
)

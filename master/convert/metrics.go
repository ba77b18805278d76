package convert

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/granary-store/granary/internal/proto"
)

// The background conversion's figures, reported by the leader only.
var (
	descConvPendingObjects = prometheus.NewDesc("granary_conversion_pending_objects", "Objects old enough to convert and not stored under their target policy yet, as of the converter's last survey, on this leader.", nil, nil)
	descConvPendingBytes   = prometheus.NewDesc("granary_conversion_pending_bytes", "Bytes of those objects, on this leader.", nil, nil)
	descConvObjects        = prometheus.NewDesc("granary_conversion_converted_objects_total", "Objects rewritten under their target policy and swapped in (lifecycle transitions included), on this leader.", nil, nil)
	descConvBytes          = prometheus.NewDesc("granary_conversion_converted_bytes_total", "Bytes of the converted objects, on this leader.", nil, nil)
	descConvTransitioned   = prometheus.NewDesc("granary_conversion_transitioned_objects_total", "Objects moved to another storage class by lifecycle transitions, on this leader.", nil, nil)
	descConvChanged        = prometheus.NewDesc("granary_conversion_changed_objects_total", "Conversions dropped because the object was overwritten or deleted meanwhile, on this leader.", nil, nil)
	descConvFailed         = prometheus.NewDesc("granary_conversion_failed_objects_total", "Conversions that failed (tried again in a later pass), on this leader.", nil, nil)
	descConvRate           = prometheus.NewDesc("granary_conversion_bytes_per_second", "Conversion rate over the last minute, on this leader.", nil, nil)
	descConvBandwidth      = prometheus.NewDesc("granary_conversion_bandwidth_bytes_per_second", "The conversion's bandwidth bound (0: none).", nil, nil)
	descConvETA            = prometheus.NewDesc("granary_conversion_eta_seconds", "Pending bytes at the current rate (-1: unknown), on this leader.", nil, nil)
	descConvPasses         = prometheus.NewDesc("granary_conversion_passes_total", "Full conversion passes over the buckets, on this leader.", nil, nil)
)

var convDescs = []*prometheus.Desc{descConvPendingObjects, descConvPendingBytes, descConvObjects, descConvBytes,
	descConvTransitioned, descConvChanged, descConvFailed, descConvRate, descConvBandwidth, descConvETA, descConvPasses}

// Collector returns a Prometheus collector of the conversion's figures.
// progress is read at scrape time; it reports false on a member that does
// not lead (or has no converter yet), and then nothing is collected.
func Collector(progress func() (proto.ConversionStats, bool)) prometheus.Collector {
	return collector{progress}
}

type collector struct {
	progress func() (proto.ConversionStats, bool)
}

// Describe implements prometheus.Collector.
func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range convDescs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c collector) Collect(ch chan<- prometheus.Metric) {
	p, ok := c.progress()
	if !ok {
		return
	}
	for d, v := range map[*prometheus.Desc]int64{
		descConvPendingObjects: p.PendingObjects, descConvPendingBytes: p.PendingBytes,
		descConvRate: p.BytesPerSecond, descConvBandwidth: p.BandwidthBytesPerSecond, descConvETA: p.ETASeconds,
	} {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v))
	}
	for d, v := range map[*prometheus.Desc]int64{
		descConvObjects: p.ConvertedObjects, descConvBytes: p.ConvertedBytes, descConvTransitioned: p.Transitioned,
		descConvChanged: p.Changed, descConvFailed: p.Failed, descConvPasses: p.Passes,
	} {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
}

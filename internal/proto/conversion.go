package proto

// ConvertRule is a bucket's background conversion: replicated data older
// than AfterSeconds is rewritten to Policy (rs-K-M) by the leader's
// conversion worker. AfterSeconds 0 turns conversion off for the bucket
// whatever the cluster's setting; a bucket without a rule follows the
// cluster's (--convert-after, --convert-policy).
type ConvertRule struct {
	Policy       string `json:"policy,omitempty"`
	AfterSeconds int64  `json:"afterSeconds"`
}

// ConversionStats is the leader's conversion worker's progress since this
// member became leader (the pending figures are from the worker's latest
// survey of the buckets, lowered as it converts).
type ConversionStats struct {
	// Enabled reports whether any bucket has data to convert: the
	// cluster's --convert-after or a bucket's rule, or a lifecycle
	// transition.
	Enabled bool `json:"enabled"`
	// PendingObjects and PendingBytes are the objects (and their bytes)
	// old enough and not stored under their target policy yet.
	PendingObjects int64 `json:"pendingObjects"`
	PendingBytes   int64 `json:"pendingBytes"`
	// ConvertedObjects and ConvertedBytes count the objects rewritten
	// and swapped in (Transitioned of them by lifecycle transitions).
	ConvertedObjects int64 `json:"convertedObjects"`
	ConvertedBytes   int64 `json:"convertedBytes"`
	Transitioned     int64 `json:"transitioned"`
	// Changed counts objects overwritten or deleted during their
	// conversion (left as written; the conversion's chunks are orphans).
	Changed int64 `json:"changed"`
	// Failed counts conversions that failed (retried in a later pass).
	Failed int64 `json:"failed"`
	// BytesPerSecond is the rate over the last minute of work; the bound
	// is BandwidthBytesPerSecond (0: none).
	BytesPerSecond          int64 `json:"bytesPerSecond"`
	BandwidthBytesPerSecond int64 `json:"bandwidthBytesPerSecond"`
	// ETASeconds is PendingBytes at that rate (0 when nothing is
	// pending, -1 when the rate is not known yet).
	ETASeconds int64 `json:"etaSeconds"`
	// Passes counts full passes over the buckets; LastPass is when the
	// last one ended.
	Passes   int64  `json:"passes"`
	LastPass string `json:"lastPass,omitempty"`
}

package main

import (
	"flag"

	"github.com/granary-store/granary/internal/cliflag"
	"github.com/granary-store/granary/master"
)

// convertFlags registers the background conversion's flags of granary
// master and granary server.
func convertFlags(fs *flag.FlagSet, cfg *master.Config) {
	fs.Var(cliflag.Age{D: &cfg.ConvertAfter}, "convert-after", "convert replicated objects older than this (7d, 36h) to erasure coding in the background (0: off; buckets may set their own with admin set-policy --convert-after)")
	fs.StringVar(&cfg.ConvertPolicy, "convert-policy", "", "the rs-K-M policy --convert-after converts to (default: the bucket's or the cluster's --policy when it is rs-K-M)")
	fs.Var(cliflag.Size{N: &cfg.ConvertBandwidth}, "convert-bandwidth", "bytes per second the background conversion reads at most (KiB, MiB, GiB; 0: no bound)")
}

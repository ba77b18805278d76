package meta

import (
	"github.com/granary-store/granary/master/meta/chunkindex"
	"github.com/granary-store/granary/master/meta/kv"
)

// The record and chunk index helpers under the names the tests have used
// since they lived in this package.
var (
	put         = kv.Put
	del         = kv.Del
	decodeValue = kv.Decode
	encodeValue = kv.Encode
	getCounter  = kv.Counter
	chunkKey    = chunkindex.Key
	stripeSet   = chunkindex.StripeSet
	keyChunkHW  = []byte("m/chunkhw") // chunkindex's allocator counter
)

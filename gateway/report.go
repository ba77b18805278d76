package gateway

import (
	"strings"

	"github.com/granary-store/granary/internal/proto"
)

// opClasses maps every operation of the ops table to its class.
var opClasses = func() map[string]string {
	out := map[string]string{}
	for _, o := range ops {
		switch {
		case strings.HasPrefix(o.name, "List"):
			out[o.name] = proto.S3ClassList
		case o.method == "DELETE" || strings.HasPrefix(o.name, "Delete") || strings.HasPrefix(o.name, "Abort"):
			out[o.name] = proto.S3ClassDelete
		case o.method == "GET" || o.method == "HEAD":
			out[o.name] = proto.S3ClassRead
		default:
			out[o.name] = proto.S3ClassWrite
		}
	}
	return out
}()

// s3Class is the class of an operation name as the metrics label it
// (other: preflights and refused requests).
func s3Class(op string) string {
	if c, ok := opClasses[op]; ok {
		return c
	}
	return proto.S3ClassOther
}

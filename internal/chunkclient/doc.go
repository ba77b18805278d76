// Package chunkclient calls a chunk server's data plane
// (proto.RouteChunkData): Put streams a chunk down a replication
// pipeline, Get reads a verified byte range, GetBatch reads many whole
// chunks with one request (repair copies of small chunks), Delete and
// Stat manage one replica. It is used by the client library, by chunk servers forwarding a
// pipeline, and by repair copies; it is built on internal/rpc.
//
// It moves bytes and decodes answers; timeouts beyond the http.Client's,
// retries and the choice of replica stay with the callers.
//
// Errors come in three kinds a caller can tell apart: a *StatusError when
// the server answered with an error status (it unwraps to the server's
// *proto.Error, which may name another server of the pipeline at fault),
// an error wrapping ErrBadAnswer when a success answer could not be
// decoded, and otherwise the transport's error (the server may be down,
// or the request body failed).
package chunkclient

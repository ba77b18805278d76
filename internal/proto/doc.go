// Package proto holds the wire types shared by Granary's processes: the JSON
// bodies of the master's HTTP API, error codes, and the naming rules every
// front end enforces. It imports only the standard library.
package proto

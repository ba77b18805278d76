// Package placement decides where chunk replicas live. It is pure: no I/O,
// no clocks, no goroutines, and no imports of other project packages.
package placement

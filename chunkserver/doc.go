// Package chunkserver stores immutable chunks on local disks and serves them.
package chunkserver

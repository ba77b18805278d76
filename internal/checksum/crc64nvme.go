package checksum

import (
	"hash"

	"github.com/minio/crc64nvme"
)

// newCRC64NVME returns a hash.Hash64 of CRC-64/NVME (reflected, all-ones
// initial value and final inversion, as hash/crc64 computes its CRCs).
// CRC64NVME is S3's default checksum, so it runs over every PUT's bytes:
// github.com/minio/crc64nvme folds with carry-less multiplication where
// the CPU has it. Measured on 32 KiB writes (BenchmarkCRC64NVME, one
// busy machine, one run): 8,880 MB/s, against 670 for the slicing-by-8
// tables this package used before and 697 for hash/crc64.
func newCRC64NVME() hash.Hash64 { return crc64nvme.New() }

package checksum

import (
	"encoding/binary"
	"hash"
)

// nvmeTables are the slicing-by-8 tables of CRC-64/NVME, built once.
// hash/crc64 keeps such tables only for its ISO and ECMA polynomials; for
// any other table it rebuilds the 16 KiB of them on every Write of 2 KiB or
// more, on every PUT's hot path (CRC64NVME is the default checksum).
// Measured on 32 KiB writes: 1,540 MB/s here against 1,286 with
// hash/crc64 (BenchmarkCRC64NVME).
var nvmeTables = func() *[8][256]uint64 {
	var t [8][256]uint64
	for i := range 256 {
		crc := uint64(i)
		for range 8 {
			if crc&1 == 1 {
				crc = crc>>1 ^ polyCRC64NVME
			} else {
				crc >>= 1
			}
		}
		t[0][i] = crc
	}
	for i := range 256 {
		crc := t[0][i]
		for j := 1; j < 8; j++ {
			crc = t[0][crc&0xff] ^ crc>>8
			t[j][i] = crc
		}
	}
	return &t
}()

// crc64NVME is a hash.Hash64 of CRC-64/NVME (reflected, all-ones initial
// value and final inversion, as hash/crc64 computes its CRCs).
type crc64NVME struct{ crc uint64 }

func newCRC64NVME() hash.Hash64 { return &crc64NVME{} }

func (d *crc64NVME) Size() int      { return 8 }
func (d *crc64NVME) BlockSize() int { return 1 }
func (d *crc64NVME) Reset()         { d.crc = 0 }
func (d *crc64NVME) Sum64() uint64  { return d.crc }

func (d *crc64NVME) Sum(in []byte) []byte { return binary.BigEndian.AppendUint64(in, d.crc) }

func (d *crc64NVME) Write(p []byte) (int, error) {
	t := nvmeTables
	crc := ^d.crc
	n := len(p)
	for len(p) >= 8 {
		crc ^= binary.LittleEndian.Uint64(p)
		crc = t[7][crc&0xff] ^ t[6][crc>>8&0xff] ^ t[5][crc>>16&0xff] ^ t[4][crc>>24&0xff] ^
			t[3][crc>>32&0xff] ^ t[2][crc>>40&0xff] ^ t[1][crc>>48&0xff] ^ t[0][crc>>56]
		p = p[8:]
	}
	for _, b := range p {
		crc = t[0][byte(crc)^b] ^ crc>>8
	}
	d.crc = ^crc
	return n, nil
}

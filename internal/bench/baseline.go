package bench

import (
	"crypto/md5"
	"crypto/sha256"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Baseline is the machine's own speed for the work a store does.
type Baseline struct {
	Dir  string             `json:"dir"`
	Disk []DiskResult       `json:"disk"`
	TCP  float64            `json:"loopbackTcpMiBPerSec"`
	Hash map[string]float64 `json:"hashMiBPerSec"`
}

// DiskResult is sequential write (fsync per file) and read of one size.
type DiskResult struct {
	Size           int64   `json:"size"`
	WriteOpsPerSec float64 `json:"writeOpsPerSec"`
	WriteMiBPerSec float64 `json:"writeMiBPerSec"`
	ReadOpsPerSec  float64 `json:"readOpsPerSec"`
	ReadMiBPerSec  float64 `json:"readMiBPerSec"`
}

// MeasureBaseline measures disk, loopback TCP and hashing, each for about
// budget per measurement.
func MeasureBaseline(dir string, sizes []int64, budget time.Duration) (Baseline, error) {
	b := Baseline{Dir: dir, Hash: map[string]float64{}}
	tmp, err := os.MkdirTemp(dir, "granary-baseline-")
	if err != nil {
		return b, fmt.Errorf("bench: baseline dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	for _, size := range sizes {
		r, err := disk(tmp, size, budget)
		if err != nil {
			return b, err
		}
		b.Disk = append(b.Disk, r)
	}
	if b.TCP, err = loopback(budget); err != nil {
		return b, err
	}
	buf := payload(16 << 20)
	for name, h := range map[string]func() hash.Hash{
		"crc32c": func() hash.Hash { return crc32.New(crc32.MakeTable(crc32.Castagnoli)) },
		"md5":    md5.New, "sha256": sha256.New,
	} {
		b.Hash[name] = hashRate(h(), buf, budget)
	}
	return b, nil
}

func disk(dir string, size int64, budget time.Duration) (DiskResult, error) {
	data := payload(size)
	r := DiskResult{Size: size}
	start, n := time.Now(), 0
	for ; n < 2 || time.Since(start) < budget; n++ {
		f, err := os.Create(filepath.Join(dir, fmt.Sprint(n)))
		if err != nil {
			return r, fmt.Errorf("bench: baseline write: %w", err)
		}
		_, err = f.Write(data)
		if err == nil {
			err = f.Sync()
		}
		f.Close()
		if err != nil {
			return r, fmt.Errorf("bench: baseline write: %w", err)
		}
	}
	el := time.Since(start).Seconds()
	r.WriteOpsPerSec, r.WriteMiBPerSec = float64(n)/el, float64(n)*float64(size)/(1<<20)/el
	start, reads := time.Now(), 0
	for ; reads < 2 || time.Since(start) < budget; reads++ {
		f, err := os.Open(filepath.Join(dir, fmt.Sprint(reads%n)))
		if err != nil {
			return r, err
		}
		io.Copy(io.Discard, f)
		f.Close()
	}
	el = time.Since(start).Seconds()
	r.ReadOpsPerSec, r.ReadMiBPerSec = float64(reads)/el, float64(reads)*float64(size)/(1<<20)/el
	for i := range n {
		os.Remove(filepath.Join(dir, fmt.Sprint(i)))
	}
	return r, nil
}

// loopback measures one TCP stream over 127.0.0.1.
func loopback(budget time.Duration) (float64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	got := make(chan int64, 1)
	go func() { // owned here: ends when the sender closes
		c, err := ln.Accept()
		if err != nil {
			got <- 0
			return
		}
		n, _ := io.Copy(io.Discard, c)
		c.Close()
		got <- n
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 1<<20)
	start := time.Now()
	for time.Since(start) < budget {
		if _, err := c.Write(buf); err != nil {
			break
		}
	}
	c.Close()
	n := <-got
	return float64(n) / (1 << 20) / time.Since(start).Seconds(), nil
}

func hashRate(h hash.Hash, buf []byte, budget time.Duration) float64 {
	start, n := time.Now(), 0
	for ; n < 2 || time.Since(start) < budget; n++ {
		h.Write(buf)
	}
	h.Sum(nil)
	return float64(n) * float64(len(buf)) / (1 << 20) / time.Since(start).Seconds()
}

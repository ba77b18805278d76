// Package format is the on-disk format, version 1, of the chunk store
// (package chunkserver/disk): the encoders and decoders of chunk files,
// volume files and their records, and the file names, drawn here next to
// the code that writes them. It is pure: it imports only the standard
// library, does no I/O beyond reading an io.ReaderAt it is given, and
// every decoding failure wraps ErrCorrupt (which disk.ErrCorrupt is).
//
// Each dir in disk.Config.Dirs holds (the folders are made by the chunk
// store's layout.go; the names are ChunkName and VolumeName):
//
//	<dir>/chunks/<xx>/<id>.chunk      a committed chunk: <id> is the chunk id in
//	                                  16 lower-case hex digits, <xx> its low
//	                                  byte (256 fan-out dirs, made at Open)
//	<dir>/chunks/<xx>/<id>.chunk.tmp  a chunk being written; deleted at Open
//	<dir>/quarantine/<id>.chunk       a chunk that failed the check at Open
//	<dir>/volumes/<seq>.vol           a volume: packed chunks (Config.PackMax),
//	                                  <seq> its sequence number in 16 hex
//	                                  digits, from 1 up per data dir
//	<dir>/quarantine/<seq>.vol        a damaged volume, once compacted
//
// A chunk file holding n data bytes, cut into B = ceil(n / 64 KiB) blocks:
//
//	0           +----------------------------------------------------+
//	            | header, 64 bytes                                   |
//	            |    0  magic "GRNCHUNK"                  [8]byte    |
//	            |    8  format version = 1                uint16     |
//	            |   10  checksum algorithm = 1 (CRC32C)   uint8      |
//	            |   11  flags = 0                         uint8      |
//	            |   12  block size = 65536                uint32     |
//	            |   16  chunk id                          uint64     |
//	            |   24  data length n                     uint64     |
//	            |   32  reserved, zero                    [28]byte   |
//	            |   60  CRC32C of header bytes 0..59      uint32     |
//	64          +----------------------------------------------------+
//	            | data, n bytes: block 0 | block 1 | ... | block B-1 |
//	            | (64 KiB each; the last one may be shorter)         |
//	64+n        +----------------------------------------------------+
//	            | trailer, 4*B + 4 bytes                             |
//	            |    CRC32C of block 0 .. block B-1     B x uint32   |
//	            |    CRC32C of the 64 header bytes      uint32       |
//	            |    followed by the 4*B CRC bytes                   |
//	64+n+4*B+4  +----------------------------------------------------+
//
// A volume file (records in volume.go; appended by the chunk store):
//
//	0           +----------------------------------------------------+
//	            | volume header, 64 bytes                            |
//	            |    0  magic "GRNVOLUM"                  [8]byte    |
//	            |    8  format version = 1                uint16     |
//	            |   10  checksum algorithm = 1 (CRC32C)   uint8      |
//	            |   11  flags = 0                         uint8      |
//	            |   12  block size = 65536                uint32     |
//	            |   16  volume sequence <seq>             uint64     |
//	            |   24  reserved, zero                    [36]byte   |
//	            |   60  CRC32C of header bytes 0..59      uint32     |
//	64          +----------------------------------------------------+
//	            | record | record | ... | record                     |
//	            | end record (once the volume is closed)             |
//	            +----------------------------------------------------+
//
// A record at offset r holding n data bytes in B = ceil(n / 64 KiB) blocks
// (n = 0 and B = 0 for a tombstone and the end record):
//
//	r           +----------------------------------------------------+
//	            | record header, 48 bytes                            |
//	            |    0  magic "GRNR"                      [4]byte    |
//	            |    4  kind: 1 chunk, 2 tombstone,       uint8      |
//	            |       3 void, 4 end                                |
//	            |    5  reserved, zero                    [3]byte    |
//	            |    8  chunk id (0 for end)              uint64     |
//	            |   16  data length n                     uint64     |
//	            |   24  tombstone: the deleted record's   uint64     |
//	            |       volume sequence, else 0                      |
//	            |   32  tombstone: its offset, else 0     uint64     |
//	            |   40  reserved, zero                    [4]byte    |
//	            |   44  CRC32C of header bytes 0..43      uint32     |
//	r+48        +----------------------------------------------------+
//	            | checksums, 4*B + 4 bytes: the chunk file trailer   |
//	            |    CRC32C of block 0 .. block B-1     B x uint32   |
//	            |    CRC32C of the 48 header bytes      uint32       |
//	            |    followed by the 4*B CRC bytes                   |
//	r+52+4*B    +----------------------------------------------------+
//	            | data, n bytes: block 0 | ... | block B-1          |
//	r+52+4*B+n  +----------------------------------------------------+
//
// A record is written whole by one pwrite at an offset reserved under a
// short lock, so writers fill a volume concurrently; Commit returns once
// an fsync that began after every record up to its own was written has
// returned (group commit: one fsync covers the records of many writers),
// so the durable part of a volume is always a prefix of it. A void record
// replaces (by its header alone) a record whose write or fsync failed: the
// scan skips its n-byte length. Void records (id 0) also pad the gaps
// around a large record that is written with direct I/O, which needs the
// bytes it writes to start and end on 4 KiB boundaries. A tombstone deletes the record at (volume,
// offset) it names, not the id, so the id can be written again; a record
// that a later tombstone deletes also hides any older copy of its id (left
// by a compaction that did not finish). A volume is closed, when full,
// after a failure, or at Close, by its end record, which is always the
// file's last 52 bytes: a closed volume whose records fail a check before
// the end is damaged, and one without the end record was still open at a
// crash, so its torn tail is cut off at Open and the end record appended.
// Volumes found at Open are never appended to again. Compaction copies the
// live records and the tombstones whose target volume still exists,
// byte for byte, to the open volume, switches the index, and removes the
// old file.
//
// Why the checksums precede the data here: the chunk is whole in memory
// at Commit, so one pwrite places all of it, and the scan at Open reads a
// record's header and checksums with one small pread (for records up to
// 1 MiB) without touching the data.
//
// Integers are little-endian; CRC32C is CRC-32 with the Castagnoli
// polynomial. Why every flipped byte is caught: a header byte breaks the
// header CRC and a trailer byte the trailer CRC (Open fails); a data byte
// breaks its block's CRC (a read of that block fails). Truncation or
// appended bytes break the length rule above, and a file whose header id
// differs from the id in its name is rejected too; all with ErrCorrupt.
//
// Why a trailer rather than CRCs interleaved with the data: the data stays
// contiguous, so a byte's file offset is just 64 plus its chunk offset and a
// run of whole blocks is read with one pread straight into the caller's
// buffer. The price is that a writer keeps its block CRCs until Commit:
// 4 bytes per 64 KiB (4 KiB for a 64 MiB chunk), still bounded. A reader
// loads them once at Open, checked against the trailer CRC. The header,
// which holds the length, is written last (at Commit) by a pwrite at offset
// 0, so writers of unknown size stream too.
package format

package repair

import "github.com/granary-store/granary/internal/proto"

// Batch bounds the master uses (Limits.Batch, Limits.BatchBytes): copies
// of small chunks from one source to one target travel in one command and
// one read of the source, at most DefaultBatch chunks and
// DefaultBatchBytes bytes at a time, so a server's copy slots each carry
// many small chunks.
const (
	DefaultBatch      = 64
	DefaultBatchBytes = 4 << 20
)

// batch groups the copies of the round that go from one source to one
// target into copy commands with More (proto.Command), within
// Limits.Batch chunks and Limits.BatchBytes bytes each; a chunk larger
// than BatchBytes travels alone. Each target's commands keep their order
// (most urgent first), a batch taking the place of its first copy, so the
// plan stays deterministic. In-flight records stay per chunk: each chunk
// of a batch is confirmed, fails or times out on its own.
func (p *Plan) batch(in *Input) { batchCommands(in, p.Commands) }

// batchCommands batches the copies of every server's commands in place
// (see Plan.batch); Balance uses it for its moves' copies too.
func batchCommands(in *Input, cmds map[proto.NodeID][]proto.Command) {
	if in.Limits.Batch <= 1 {
		return
	}
	for target, list := range cmds {
		cmds[target] = batchCopies(in, list)
	}
}

func batchCopies(in *Input, cmds []proto.Command) []proto.Command {
	lim := in.Limits
	out := make([]proto.Command, 0, len(cmds))
	open := map[proto.NodeID]int{} // source -> its batch being filled, by index in out
	bytes := map[proto.NodeID]int64{}
	for _, c := range cmds {
		size := in.size(c.Chunk)
		if c.Op != proto.CmdCopy || c.More != nil || (lim.BatchBytes > 0 && size > lim.BatchBytes) {
			out = append(out, c)
			continue
		}
		src := c.Source.ID
		if i, ok := open[src]; ok && 1+len(out[i].More) < min(lim.Batch, proto.MaxCopyBatch) &&
			(lim.BatchBytes <= 0 || bytes[src]+size <= lim.BatchBytes) {
			out[i].More = append(out[i].More, c.Chunk)
			bytes[src] += size
			continue
		}
		open[src], bytes[src] = len(out), size
		out = append(out, c)
	}
	return out
}

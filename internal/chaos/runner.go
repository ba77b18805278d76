package chaos

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/granary-store/granary/internal/masterclient"
	"github.com/granary-store/granary/internal/proto"
)

// Fault is one injected failure and how to undo it.
type Fault struct {
	Name   string
	Inject func(ctx context.Context) error
	Heal   func(ctx context.Context) error
}

// Target is a cluster faults can be injected into.
type Target interface {
	// Kinds lists the fault kinds the target supports.
	Kinds() []string
	// Fault prepares a fault of the given kind, choosing its victim with
	// rng (or by role, such as the current leader).
	Fault(ctx context.Context, kind string, rng *rand.Rand) (Fault, error)
	// Status is the cluster status as the leader reports it.
	Status(ctx context.Context) (proto.Status, error)
	// ChunkServers is how many chunk servers the healthy cluster has.
	ChunkServers() int
	// Masters is how many masters the healthy cluster has.
	Masters() int
	// Replicas returns a client and every master's address, to compare
	// the members' own states once the workload stopped.
	Replicas() (*masterclient.Client, []string)
}

// Options shape a run.
type Options struct {
	Seed   uint64
	Rounds int
	// Steady is how long the workload runs before each fault; Hold how
	// long the fault lasts.
	Steady, Hold time.Duration
	// RecoveryBound is how long the cluster may take to return to full
	// health after a fault is healed; a slower recovery fails the run.
	RecoveryBound time.Duration
	// CheckTimeout bounds the linearizability search.
	CheckTimeout time.Duration
	// NoFailedReads names the fault kinds during which no read may fail
	// (a leader kill: the new leader answers "not ready" and clients ask
	// again, so readers only wait).
	NoFailedReads map[string]bool
	// Log receives progress lines.
	Log func(format string, args ...any)
}

// RoundReport is what one fault round did and measured.
type RoundReport struct {
	Fault              string
	Injected, Healed   time.Duration // history times
	Recovered          time.Duration // history time of full health; 0 if never
	RecoveryTime       time.Duration // from heal to full health
	Ops, Failed        int           // operations that ended inside the round's fault window
	FailedReads        int           // of them, reads
	WriteGap, ReadGap  time.Duration // longest span without an acknowledged write / read
	Durability         DurabilityResult
	InjectErr, HealErr string
	NotHealthy         string // the last status problem if recovery timed out
}

// Report is the outcome of a run.
type Report struct {
	Target  string
	Seed    uint64
	Options Options
	Rounds  []RoundReport
	Ops     int
	Failed  int
	Puts    [3]int // write-once puts, acknowledged puts, acknowledged deletes
	Lin     LinearizabilityResult
	Final   DurabilityResult
	// Replicas is "" when every master ended with the same state, else
	// what differed.
	Replicas string
	// Failures lists every reason the run failed; empty means it passed.
	Failures []string
	Duration time.Duration
}

// Passed reports the verdict.
func (r *Report) Passed() bool { return len(r.Failures) == 0 }

// Run runs the workload against target, injecting opts.Rounds faults chosen
// from opts.Seed, and checks everything the run recorded.
func Run(ctx context.Context, name string, target Target, w *Workload, opts Options) *Report {
	logf := opts.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	rep := &Report{Target: name, Seed: opts.Seed, Options: opts}
	begin := time.Now()
	h := w.History
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(wctx)
	}()
	stopWorkload := func() {
		stop()
		<-done
	}
	defer stopWorkload()

	rng := rand.New(rand.NewPCG(opts.Seed, 0x6368616f73))
	kinds := target.Kinds()
	var order []string
	for len(order) < opts.Rounds {
		perm := rng.Perm(len(kinds))
		for _, i := range perm {
			order = append(order, kinds[i])
		}
	}
	order = order[:opts.Rounds]
	logf("seed %d: %d rounds: %s", opts.Seed, len(order), strings.Join(order, ", "))

	sampler := rand.New(rand.NewPCG(opts.Seed, 0x73616d706c65)) // apart from rng, so faults follow the seed alone
	for i, kind := range order {
		if !sleepCtx(ctx, opts.Steady) {
			break
		}
		rr := RoundReport{}
		f, err := target.Fault(ctx, kind, rng)
		if err != nil {
			rep.Failures = append(rep.Failures, fmt.Sprintf("round %d: prepare %s: %v", i+1, kind, err))
			break
		}
		rr.Fault = f.Name
		rr.Injected = h.Now()
		logf("round %d: inject %s", i+1, f.Name)
		if err := f.Inject(ctx); err != nil {
			rr.InjectErr = err.Error()
			rep.Failures = append(rep.Failures, fmt.Sprintf("round %d: inject %s: %v", i+1, f.Name, err))
		}
		sleepCtx(ctx, opts.Hold)
		rr.Healed = h.Now()
		if err := f.Heal(ctx); err != nil {
			rr.HealErr = err.Error()
			rep.Failures = append(rep.Failures, fmt.Sprintf("round %d: heal %s: %v", i+1, f.Name, err))
		}
		logf("round %d: healed %s; waiting for full health", i+1, f.Name)
		if why := waitHealthy(ctx, target, opts.RecoveryBound); why != "" {
			rr.NotHealthy = why
			rep.Failures = append(rep.Failures, fmt.Sprintf("round %d (%s): not back to full health within %v: %s", i+1, f.Name, opts.RecoveryBound, why))
		} else {
			rr.Recovered = h.Now()
			rr.RecoveryTime = rr.Recovered - rr.Healed
		}
		// Every key written from just before the fault until now, and a
		// sample of older ones (the final check reads them all).
		rr.Durability = w.Verify(ctx, max(rr.Injected-opts.Steady, 0), h.Now(), 200, sampler)
		for _, p := range rr.Durability.Problems {
			rep.Failures = append(rep.Failures, fmt.Sprintf("round %d (%s): %s", i+1, f.Name, p))
		}
		for _, p := range rr.Durability.ReadErrors {
			rep.Failures = append(rep.Failures, fmt.Sprintf("round %d (%s): unreadable after recovery: %s", i+1, f.Name, p))
		}
		end := rr.Recovered
		if end == 0 {
			end = h.Now()
		}
		rr.Ops, rr.Failed, rr.FailedReads, rr.WriteGap, rr.ReadGap = window(h.Ops(), rr.Injected, end)
		if rr.FailedReads > 0 && opts.NoFailedReads[kind] {
			rep.Failures = append(rep.Failures, fmt.Sprintf("round %d (%s): %d reads failed", i+1, f.Name, rr.FailedReads))
		}
		logf("round %d: %s: recovered %v after heal; %d ops (%d failed) in the window; write gap %v, read gap %v; %d write-once keys verified",
			i+1, f.Name, rr.RecoveryTime.Round(time.Millisecond), rr.Ops, rr.Failed, rr.WriteGap.Round(time.Millisecond), rr.ReadGap.Round(time.Millisecond), rr.Durability.Checked)
		rep.Rounds = append(rep.Rounds, rr)
		if rr.NotHealthy != "" {
			break // later rounds would measure a broken cluster
		}
	}
	sleepCtx(ctx, opts.Steady)
	stopWorkload()

	cutoff := h.Now()
	if err := w.FinalReads(ctx); err != nil {
		rep.Failures = append(rep.Failures, err.Error())
	}
	rep.Final = w.Verify(ctx, 0, cutoff, -1, nil)
	rep.Replicas = compareReplicas(ctx, target, w.Bucket, 30*time.Second)
	if rep.Replicas != "" {
		rep.Failures = append(rep.Failures, "replicas: "+rep.Replicas)
	}
	for _, p := range rep.Final.Problems {
		rep.Failures = append(rep.Failures, "final: "+p)
	}
	for _, p := range rep.Final.ReadErrors {
		rep.Failures = append(rep.Failures, "final: unreadable: "+p)
	}
	for _, a := range w.Anomalies() {
		rep.Failures = append(rep.Failures, a)
	}
	ops := h.Ops()
	for _, op := range ops {
		rep.Ops++
		if !op.OK() {
			rep.Failed++
		}
	}
	rep.Puts[0], rep.Puts[1], rep.Puts[2] = w.OnceCounts()
	logf("checking linearizability of %d operations", len(ops))
	rep.Lin = CheckLinearizable(ops, opts.CheckTimeout)
	switch rep.Lin.Result {
	case "Ok":
	case "Illegal":
		rep.Failures = append(rep.Failures, fmt.Sprintf("history is not linearizable for keys %v", rep.Lin.Illegal))
	default:
		rep.Failures = append(rep.Failures, fmt.Sprintf("linearizability check gave no answer within %v", opts.CheckTimeout))
	}
	if rep.Final.Checked == 0 || rep.Puts[1] == 0 {
		rep.Failures = append(rep.Failures, "the workload acknowledged no write-once put: nothing was tested")
	}
	rep.Duration = time.Since(begin)
	return rep
}

// spaceReturned deletes every object of w's bucket and waits until every
// chunk server reports holding nothing; it returns "" then, else why not.
// It ends a run: the space of deleted data must come back on every server,
// including servers that were down when it was deleted and servers that
// hold chunks of writes that failed. The target's GC delay and orphan
// grace must be well inside bound, and the bucket must be the only one
// holding chunks.
func spaceReturned(ctx context.Context, t Target, w *Workload, bound time.Duration) string {
	deadline := time.Now().Add(bound)
	if err := w.DeleteAll(ctx, bound); err != nil {
		return err.Error()
	}
	return pollStatus(ctx, t, time.Until(deadline), func(st proto.Status) string { return heldChunks(st, t.ChunkServers()) })
}

// heldChunks describes what the chunk servers in st still hold ("" when
// every one of the expected servers is alive and holds nothing).
func heldChunks(st proto.Status, chunkServers int) string {
	var held []string
	if n := st.AliveChunkServers(); n != chunkServers {
		held = append(held, fmt.Sprintf("%d of %d chunk servers alive", n, chunkServers))
	}
	for _, cs := range st.ChunkServers {
		if cs.Chunks != 0 || cs.UsedBytes != 0 {
			held = append(held, fmt.Sprintf("%s holds %d chunks (%d bytes)", cs.ID, cs.Chunks, cs.UsedBytes))
		}
	}
	return strings.Join(held, "; ")
}

// waitHealthy polls the status until the cluster is at full health or
// bound passes; it returns "" on health, else the last problem seen.
func waitHealthy(ctx context.Context, t Target, bound time.Duration) string {
	return pollStatus(ctx, t, bound, func(st proto.Status) string { return Unhealthy(st, t.Masters(), t.ChunkServers()) })
}

// pollStatus polls the status until problem finds none in it or bound
// passes; it returns "" then, else the last problem seen.
func pollStatus(ctx context.Context, t Target, bound time.Duration, problem func(proto.Status) string) string {
	deadline := time.Now().Add(bound)
	why := "no status yet"
	for {
		sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		st, err := t.Status(sctx)
		cancel()
		if err != nil {
			why = err.Error()
		} else if why = problem(st); why == "" {
			return ""
		}
		if time.Now().After(deadline) || !sleepCtx(ctx, 250*time.Millisecond) {
			return why
		}
	}
}

// Unhealthy describes why st is not full health ("" when it is): one
// leader among all members reachable, every chunk server alive, nothing
// under-replicated, missing or corrupt.
func Unhealthy(st proto.Status, masters, chunkServers int) string {
	var problems []string
	leaders, reachable := 0, 0
	for _, m := range st.Members {
		switch m.State {
		case "leader":
			leaders++
			reachable++
		case "follower":
			reachable++
		}
	}
	if leaders != 1 || st.Leader == "" {
		problems = append(problems, fmt.Sprintf("%d leaders", leaders))
	}
	if reachable != masters || len(st.Members) != masters {
		problems = append(problems, fmt.Sprintf("%d of %d masters reachable", reachable, masters))
	}
	if n := st.AliveChunkServers(); n != chunkServers {
		problems = append(problems, fmt.Sprintf("%d of %d chunk servers alive", n, chunkServers))
	}
	if c := st.Chunks; c.UnderReplicated+c.Degraded+c.Missing+c.Corrupt > 0 {
		problems = append(problems, fmt.Sprintf("chunks: %d under-replicated, %d degraded stripes, %d missing, %d corrupt", c.UnderReplicated, c.Degraded, c.Missing, c.Corrupt))
	}
	if st.SafeMode {
		problems = append(problems, "safe mode")
	}
	return strings.Join(problems, "; ")
}

// window counts the operations that ended in [from, to] and finds the
// longest spans in it without an acknowledged write and without an
// acknowledged read (the client-visible outage).
func window(ops []Op, from, to time.Duration) (n, failed, failedReads int, writeGap, readGap time.Duration) {
	var writes, reads []time.Duration
	for _, op := range ops {
		if op.End < from || op.End > to {
			continue
		}
		n++
		if !op.OK() {
			failed++
			if op.Kind == KindGet {
				failedReads++
			}
			continue
		}
		switch op.Kind {
		case KindPut, KindDelete:
			writes = append(writes, op.End)
		case KindGet:
			reads = append(reads, op.End)
		}
	}
	return n, failed, failedReads, longestGap(writes, from, to), longestGap(reads, from, to)
}

func longestGap(times []time.Duration, from, to time.Duration) time.Duration {
	slices.Sort(times)
	prev, gap := from, time.Duration(0)
	for _, t := range append(times, to) {
		gap = max(gap, t-prev)
		prev = t
	}
	return gap
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Write prints the report as text.
func (r *Report) Write(out io.Writer) error {
	var b strings.Builder
	verdict := "PASS"
	if !r.Passed() {
		verdict = "FAIL"
	}
	fmt.Fprintf(&b, "Granary fault test (%s): %s\n", r.Target, verdict)
	fmt.Fprintf(&b, "seed %d (replay with CHAOS_SEED=%d), %d rounds, steady %v, hold %v, recovery bound %v, took %v\n\n",
		r.Seed, r.Seed, len(r.Rounds), r.Options.Steady, r.Options.Hold, r.Options.RecoveryBound, r.Duration.Round(time.Second))
	fmt.Fprintf(&b, "%-3s %-44s %9s %9s %10s %10s %12s\n", "#", "fault", "ops", "failed", "write gap", "read gap", "recovered in")
	for i, rr := range r.Rounds {
		rec := "never"
		if rr.Recovered != 0 {
			rec = rr.RecoveryTime.Round(10 * time.Millisecond).String()
		}
		fmt.Fprintf(&b, "%-3d %-44s %9d %9d %10v %10v %12s\n", i+1, rr.Fault, rr.Ops, rr.Failed,
			rr.WriteGap.Round(10*time.Millisecond), rr.ReadGap.Round(10*time.Millisecond), rec)
	}
	fmt.Fprintf(&b, "\noperations: %d (%d failed or timed out, counted as possibly applied)\n", r.Ops, r.Failed)
	fmt.Fprintf(&b, "write-once keys: %d puts (%d acknowledged), %d acknowledged deletes; final read-back: %d keys, %d present, %d absent\n",
		r.Puts[0], r.Puts[1], r.Puts[2], r.Final.Checked, r.Final.Present, r.Final.Absent)
	fmt.Fprintf(&b, "linearizability (porcupine, per key): %s over %d keys, %d ops checked (%d open-ended failed writes, %d unobserved failed puts and %d failed reads left out) in %v\n",
		r.Lin.Result, r.Lin.Keys, r.Lin.Checked, r.Lin.Indefinite, r.Lin.DroppedWrites, r.Lin.DroppedReads, r.Lin.Elapsed.Round(time.Millisecond))
	replicas := "every master holds the same objects at the same applied index"
	if r.Replicas != "" {
		replicas = "DIFFER: " + r.Replicas
	}
	fmt.Fprintf(&b, "replicas: %s\n", replicas)
	if len(r.Failures) > 0 {
		fmt.Fprintf(&b, "\nfailures:\n")
		for _, f := range r.Failures {
			fmt.Fprintf(&b, "  - %s\n", f)
		}
	}
	_, err := io.WriteString(out, b.String())
	return err
}

// compareReplicas waits until every master applied the same log index and
// then compares their own (stale=1) listings of bucket, key by key with
// version and ETag: replicas of one log must hold one state. It returns ""
// when they agree, else what differs.
func compareReplicas(ctx context.Context, t Target, bucket string, bound time.Duration) string {
	mc, addrs := t.Replicas()
	deadline := time.Now().Add(bound)
	why := "no answer yet"
	for time.Now().Before(deadline) && sleepCtx(ctx, 200*time.Millisecond) {
		applied, err := appliedIndexes(ctx, mc, addrs)
		if err != nil {
			why = err.Error()
			continue
		}
		if slices.Min(applied) != slices.Max(applied) {
			why = fmt.Sprintf("applied indexes %v never matched", applied)
			continue
		}
		views := make([]map[string]string, len(addrs))
		for i, a := range addrs {
			if views[i], err = localView(ctx, mc, a, bucket); err != nil {
				break
			}
		}
		if err != nil {
			why = err.Error()
			continue
		}
		again, err := appliedIndexes(ctx, mc, addrs)
		if err != nil {
			why = err.Error()
			continue
		}
		if !slices.Equal(again, applied) {
			why = fmt.Sprintf("applied indexes kept moving (%v, then %v while listing)", applied, again)
			continue // something applied while we listed; look again
		}
		for i := 1; i < len(views); i++ {
			if d := diffViews(views[0], views[i]); d != "" {
				return fmt.Sprintf("at applied index %d, %s and %s differ: %s", applied[0], addrs[0], addrs[i], d)
			}
		}
		return ""
	}
	return why
}

func appliedIndexes(ctx context.Context, mc *masterclient.Client, addrs []string) ([]uint64, error) {
	out := make([]uint64, len(addrs))
	for i, a := range addrs {
		hctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		h, err := mc.Health(hctx, a)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("health of %s: %w", a, err)
		}
		out[i] = h.Applied
	}
	return out, nil
}

// localView lists a member's own state of bucket as key -> version/ETag.
func localView(ctx context.Context, mc *masterclient.Client, addr, bucket string) (map[string]string, error) {
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second) // every page, not one
	defer cancel()
	objs, err := mc.ListAll(lctx, addr, proto.ListRequest{Bucket: bucket})
	if err != nil {
		return nil, fmt.Errorf("list on %s: %w", addr, err)
	}
	view := make(map[string]string, len(objs))
	for _, o := range objs {
		view[o.Key] = fmt.Sprintf("v%d/%s", o.Version, o.ETag)
	}
	return view, nil
}

func diffViews(a, b map[string]string) string {
	var diffs []string
	for k, va := range a {
		if vb, ok := b[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s only in the first (%s)", k, va))
		} else if va != vb {
			diffs = append(diffs, fmt.Sprintf("%s is %s and %s", k, va, vb))
		}
	}
	for k, vb := range b {
		if _, ok := a[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s only in the second (%s)", k, vb))
		}
	}
	if len(diffs) == 0 {
		return ""
	}
	slices.Sort(diffs)
	n := len(diffs)
	if n > 5 {
		diffs = append(diffs[:5], fmt.Sprintf("and %d more", n-5))
	}
	return fmt.Sprintf("%d keys: %s", n, strings.Join(diffs, "; "))
}

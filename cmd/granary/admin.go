package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/granary-store/granary/client"
)

const adminSynopsis = `admin [--masters HOST:PORT,...] <subcommand> [args]

subcommands:
  status [--json]           cluster status from the leader
  decommission ID           drain a chunk server: its chunks are copied elsewhere, then it is decommissioned
  remove-member ID          remove a master from the Raft group
  buckets                   list buckets
  create-bucket NAME        create a bucket
  delete-bucket NAME        delete an empty bucket
  create-user NAME          create a user
  create-key USER           create an S3 access key for a user`

func runAdmin(ctx context.Context, e *env, args []string) error {
	var cf clientFlags
	fs := newFlagSet(e, "admin", adminSynopsis)
	cf.register(fs, e)
	if err := parse(fs, args); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return errUsage
	}
	sub, rest := rest[0], rest[1:]
	dc, ctx, cancel, err := dial(ctx, e, &cf)
	if err != nil {
		return err
	}
	defer cancel()
	cl := dc.Admin()
	switch sub {
	case "status":
		return adminStatus(ctx, e, cl, rest)
	case "decommission":
		return oneArg(sub, rest, func(id string) error { return cl.Decommission(ctx, id) })
	case "remove-member":
		return oneArg(sub, rest, func(id string) error { return cl.RemoveMember(ctx, id) })
	case "buckets":
		return adminBuckets(ctx, e, cl)
	case "create-bucket":
		return oneArg(sub, rest, func(n string) error { return cl.CreateBucket(ctx, n) })
	case "delete-bucket":
		return oneArg(sub, rest, func(n string) error { return cl.DeleteBucket(ctx, n) })
	case "create-user":
		return oneArg(sub, rest, func(n string) error { _, err := cl.CreateUser(ctx, n); return err })
	case "create-key":
		return oneArg(sub, rest, func(u string) error {
			k, err := cl.CreateKey(ctx, u, "", "")
			if err == nil {
				fmt.Fprintf(e.stdout, "access key: %s\nsecret key: %s\n", k.AccessKey, k.SecretKey)
			}
			return err
		})
	default:
		return fmt.Errorf("%w: unknown admin subcommand %q", errUsage, sub)
	}
}

// dial builds a client with the command's timeout; cancel ends both.
func dial(ctx context.Context, e *env, cf *clientFlags) (*client.Client, context.Context, context.CancelFunc, error) {
	secret, err := cf.secret(e)
	if err != nil {
		return nil, nil, nil, err
	}
	cl, err := client.New(client.Config{Masters: cf.addrs(), Secret: secret})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	ctx, cancel := context.WithTimeout(ctx, cf.timeout)
	return cl, ctx, func() { cancel(); cl.Close() }, nil
}

func oneArg(sub string, rest []string, fn func(string) error) error {
	if len(rest) != 1 {
		return fmt.Errorf("%w: admin %s takes exactly one argument", errUsage, sub)
	}
	return fn(rest[0])
}

func adminStatus(ctx context.Context, e *env, cl *client.Admin, args []string) error {
	asJSON := false
	switch {
	case len(args) == 1 && (args[0] == "--json" || args[0] == "-json"):
		asJSON = true
	case len(args) != 0:
		return fmt.Errorf("%w: admin status takes only --json", errUsage)
	}
	st, err := cl.Status(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	printStatus(e.stdout, st)
	return nil
}

func printStatus(w io.Writer, st client.Status) {
	fmt.Fprintf(w, "leader: %s (term %d, commit index %d)   safe mode: %v\n\n", st.Leader, st.Term, st.CommitIndex, st.SafeMode)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MASTER\tSTATE\tHTTP\tRAFT")
	for _, m := range st.Members {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.ID, m.State, m.Address, m.RaftAddr)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHUNKSERVER\tSTATE\tRACK\tCHUNKS\tUSED\tCAPACITY\tLAST HEARTBEAT")
	for _, c := range st.ChunkServers {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%dms\n", c.ID, c.State, c.Rack, c.Chunks, human(c.UsedBytes), human(c.CapacityBytes), c.LastHeartbeatAgeMs)
	}
	tw.Flush()
	c := st.Chunks
	fmt.Fprintf(w, "\nchunks: %d total, %d under-replicated, %d over-replicated, %d missing, %d corrupt, %d pending deletes\n",
		c.Total, c.UnderReplicated, c.OverReplicated, c.Missing, c.Corrupt, c.PendingDeletes)
	if r := st.Repair; r.QueuedCopies+r.InflightCopies > 0 || r.BytesPerSecond > 0 {
		eta := "unknown"
		if r.ETASeconds > 0 {
			eta = (time.Duration(r.ETASeconds) * time.Second).String()
		}
		fmt.Fprintf(w, "repair: %d copies queued (%s), %d running (%s), %s/s, done in %s\n",
			r.QueuedCopies, human(r.QueuedBytes), r.InflightCopies, human(r.InflightBytes), human(r.BytesPerSecond), eta)
	}
	for _, cs := range st.ChunkServers {
		for _, d := range cs.FailedDirs {
			fmt.Fprintf(w, "failed data dir on %s: %s\n", cs.ID, d)
		}
	}
}

func adminBuckets(ctx context.Context, e *env, cl *client.Admin) error {
	bs, err := cl.Buckets(ctx)
	if err != nil {
		return err
	}
	for _, b := range bs {
		fmt.Fprintf(e.stdout, "%s  %s\n", b.Created.Format("2006-01-02 15:04:05"), b.Name)
	}
	return nil
}
